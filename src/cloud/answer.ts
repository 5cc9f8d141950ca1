// A COMMAND RESPONSE's payload as the hub gives it to the application: the REST API's answer,
// or the error the bridge answered itself. Whatever shape an agent sends, nothing throws.
import { BridgeAnswerError } from './errors.js';
import type { HubResponse } from './types.js';

/** An object's string-valued entries (an agent's headers as it sent them, anything else left out). */
function stringRecord(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export function answerOf(id: string, payload: object): HubResponse | BridgeAnswerError {
  const r = payload as Record<string, unknown>;
  const headers = stringRecord(r.headers);
  const body = typeof r.body === 'string' ? r.body : '';
  const status = typeof r.responseCode === 'number' ? r.responseCode : 0;
  const bridgeCode = headers['x-nbwss-bridge-error'];
  if (bridgeCode !== undefined) {
    let message = '';
    try {
      message = String((JSON.parse(body) as { errorMessage?: unknown }).errorMessage ?? '');
    } catch {
      message = body.slice(0, 200);
    }
    return new BridgeAnswerError(status, bridgeCode, message, headers, body);
  }
  const content = r.bodyEncoding === 'base64' ? Buffer.from(body, 'base64') : body;
  return { id, status, headers, body: content, json: <T>() => JSON.parse(String(content)) as T };
}
