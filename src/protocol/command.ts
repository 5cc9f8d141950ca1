// The COMMAND REQUEST as almost every cloud sends it, read without the schema: string id,
// version "1.0", a method HTTP knows, a string uri, string (or number, or boolean) header
// values, a string or no `parameters`. What it returns is exactly what the schema returns for
// the same message; anything else (an error to describe, a lenient form such as `parameters`
// as an object) is left to the schema, which stays the one definition of the wire.
import type { CommandRequest, CommandRequestPayload } from './envelope.js';
import { BAD_HEADER_VALUE, HTTP_METHODS, MAX_ID_LENGTH, MAX_URI_LENGTH, PROTOCOL_VERSION, TOKEN } from './wire.js';

const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readHeaders(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const name of Object.keys(v)) {
    // The schema leaves a `__proto__` name out of its result; that case is its own.
    if (name === '__proto__' || !TOKEN.test(name)) return undefined;
    const raw = v[name];
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (value === undefined || BAD_HEADER_VALUE.test(value)) return undefined;
    out[name] = value;
  }
  return out;
}

/**
 * The COMMAND REQUEST in `msg` (already parsed JSON), when it is valid and in the common form;
 * undefined otherwise, and the schema decides. Never accepts what the schema refuses.
 */
export function readCommandRequest(msg: Record<string, unknown>): CommandRequest | undefined {
  const { version, id, type, subType, timeStamp, payload } = msg;
  if (version !== PROTOCOL_VERSION || type !== 'COMMAND' || subType !== 'REQUEST') return undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return undefined;
  if (typeof timeStamp !== 'number' || !(timeStamp >= 0) || timeStamp === Infinity) return undefined;
  if (!isObject(payload)) return undefined;
  const { uri, method, headers, parameters } = payload;
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_URI_LENGTH) return undefined;
  if (typeof method !== 'string') return undefined;
  const upper = method.toUpperCase();
  if (!METHODS.has(upper)) return undefined;
  if (parameters !== undefined && parameters !== null && typeof parameters !== 'string') return undefined;
  const h = headers === undefined ? {} : readHeaders(headers);
  if (h === undefined) return undefined;
  const p = { uri, method: upper, headers: h } as CommandRequestPayload;
  // As the schema does: a `parameters` given (null included) is a key of the result, one left out is not.
  if (parameters !== undefined) p.parameters = parameters ?? undefined;
  return { version: PROTOCOL_VERSION, id, type: 'COMMAND', subType: 'REQUEST', timeStamp, payload: p };
}
