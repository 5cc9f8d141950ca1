// Frames the bridge writes: the CONNECT REQUEST, COMMAND RESPONSEs (a REST API's answer, or an
// error the bridge answers itself, shaped like NetBackup's own), NOTIFICATION REQUESTs.
import { RETRY_AFTER_HINT_S } from '../retry.js';
import { AnsweredError } from '../errors.js';
import type { HttpResult } from '../rest/client.js';
import { encodeBody } from './body.js';
import type { CommandResponsePayload, NotificationRequest } from './envelope.js';
import { PROTOCOL_VERSION } from './wire.js';

/** Seconds since the epoch, as every envelope's timeStamp. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Any envelope, its fields in the order NetBackup's messages have them. */
export function encodeEnvelope(type: string, subType: string, id: string, payload: unknown, timeStamp = nowSeconds()): string {
  return JSON.stringify({ version: PROTOCOL_VERSION, id, type, subType, timeStamp, payload });
}

/** The CONNECT REQUEST that opens every connection. */
export function encodeConnectRequest(id: string, token: string, timeStamp = nowSeconds()): string {
  return encodeEnvelope('CONNECT', 'REQUEST', id, { token }, timeStamp);
}

/**
 * A REST API's answer as a COMMAND RESPONSE payload: its headers and status, and its body as
 * text when it is text, as base64 otherwise (see body.ts).
 */
export function toPayload(res: HttpResult): CommandResponsePayload {
  // A repeated Content-Type arrives joined with ", ": the first one counts.
  const type = res.headers['content-type']?.split(',')[0];
  return { headers: res.headers, responseCode: res.status, ...encodeBody(res.body, type, res.headers['content-encoding']) };
}

/**
 * A COMMAND RESPONSE. One JSON.stringify of the whole envelope: the body is escaped once, and
 * the result is one flat string (a long-lived answer in the id store costs its length, not a
 * rope of pieces).
 */
export function encodeCommandResponse(id: string, p: CommandResponsePayload, timeStamp = nowSeconds()): string {
  const payload = p.bodyEncoding
    ? { headers: p.headers, responseCode: p.responseCode, body: p.body, bodyEncoding: p.bodyEncoding }
    : { headers: p.headers, responseCode: p.responseCode, body: p.body };
  return encodeEnvelope('COMMAND', 'RESPONSE', id, payload, timeStamp);
}

/** A NOTIFICATION REQUEST carrying `notifications` (each an object type with its records). */
export function encodeNotificationRequest(id: string, notifications: NotificationRequest['payload'], timeStamp = nowSeconds()): string {
  return encodeEnvelope('NOTIFICATION', 'REQUEST', id, notifications, timeStamp);
}

/**
 * The payload of an answer the bridge gives itself, shaped like NetBackup's own errors. With
 * `extensions` (the default) it also names the bridge's error code, in `details.code` and the
 * `x-nbwss-bridge-error` header; without, the body is exactly `{errorCode, errorMessage}`.
 */
export function errorPayload(error: AnsweredError, extensions = true): CommandResponsePayload {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (extensions) headers['x-nbwss-bridge-error'] = error.code;
  if (error.status === 503) headers['retry-after'] = String(RETRY_AFTER_HINT_S);
  const body = extensions
    ? { errorCode: error.status, errorMessage: error.message, details: { code: error.code } }
    : { errorCode: error.status, errorMessage: error.message };
  return { headers, responseCode: error.status, body: JSON.stringify(body) };
}

/** A COMMAND RESPONSE carrying an error the bridge answers itself (see errorPayload). */
export function encodeErrorResponse(id: string, error: AnsweredError, extensions = true, timeStamp = nowSeconds()): string {
  return encodeCommandResponse(id, errorPayload(error, extensions), timeStamp);
}

/** The error that replaces a REST answer whose body could only travel as base64, when protocol extensions are off. */
export function bodyNotText(p: CommandResponsePayload): AnsweredError {
  const type = p.headers['content-type'] ?? 'no content type';
  const bytes = Buffer.byteLength(p.body, 'base64');
  return new AnsweredError(
    'NBW_ERR_BODY_NOT_TEXT',
    `the REST API answered ${p.responseCode} with a body that cannot travel as text (${type.slice(0, 100)}, ${bytes} bytes); base64 bodies are a protocol extension, turned off here (protocol.extensions)`,
  );
}
