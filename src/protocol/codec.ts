// Turns WebSocket text frames into typed inbound messages, and typed answers into frames.
//
// decodeFrame never throws: every frame becomes exactly one Inbound value, and a frame
// that cannot be answered (no usable id) becomes a `drop` with the reason to log.
import type { z } from 'zod';
import { RETRY_AFTER_HINT_S } from '../retry.js';
import { AnsweredError } from '../errors.js';
import type { HttpResult } from '../rest/client.js';
import { encodeBody } from './body.js';
import { readCommandRequest } from './command.js';
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan } from './depth.js';
import {
  CommandRequest,
  ConnectResponse,
  PROTOCOL_VERSION,
  type CommandResponsePayload,
  type NotificationRequest,
} from './envelope.js';

/** What one inbound frame means to the bridge. */
export type Inbound =
  | { kind: 'command'; command: CommandRequest }
  | { kind: 'invalid'; id: string; error: AnsweredError }
  /** `valid` only when payload.valid is true; `problem` says why not; `unusual` what differs from NetBackup's examples. */
  | { kind: 'connect-response'; id: string; valid: boolean; problem?: string; unusual?: string }
  | { kind: 'notification-response'; id: string }
  | { kind: 'drop'; reason: string; id?: string };

/** What a link hands over: every message but the CONNECT RESPONSE, which its connection takes. */
export type Delivered = Exclude<Inbound, { kind: 'connect-response' }>;

/** Seconds since the epoch, as every envelope's timeStamp. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A short description of what a zod error found, naming each field. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => {
    const path = i.path.map(String).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

const describeType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * Decodes one text frame. JSON nested deeper than `maxDepth` goes no further than its id: a
 * COMMAND REQUEST is answered 400, anything else dropped.
 */
export function decodeFrame(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): Inbound {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'drop', reason: 'frame is not JSON' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return { kind: 'drop', reason: `frame is ${describeType(msg)}, not a JSON object` };
  }
  if (nestsDeeperThan(msg, maxDepth)) return tooDeep(msg as Record<string, unknown>, maxDepth);
  return decodeMessage(msg as Record<string, unknown>);
}

function tooDeep(msg: Record<string, unknown>, maxDepth: number): Inbound {
  const { id, type, subType } = msg;
  const what = `message nests JSON deeper than cloud.maxJsonDepth (${maxDepth})`;
  if (typeof id !== 'string' || id.length === 0) return { kind: 'drop', reason: `${what} and has no usable id` };
  if (type !== 'COMMAND' || subType === 'RESPONSE') return { kind: 'drop', reason: `${what}`, id };
  return { kind: 'invalid', id, error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: ${what}`) };
}

/**
 * Decodes a frame larger than the limit: only its id is read, to answer 413 under it.
 * `size` and `limit` are in bytes.
 */
export function decodeOversized(text: string, size: number, limit: number): Inbound {
  type Head = { id?: unknown; type?: unknown; subType?: unknown } | null;
  let msg: Head;
  try {
    msg = JSON.parse(text) as Head;
  } catch {
    msg = null;
  }
  const what = `frame of ${size} bytes is larger than cloud.maxMessageBytes (${limit})`;
  const id = msg?.id;
  if (typeof id !== 'string' || id.length === 0) return { kind: 'drop', reason: `${what} and has no readable id` };
  if (msg?.type !== 'COMMAND' || msg.subType === 'RESPONSE') return { kind: 'drop', reason: `${what} and is no COMMAND REQUEST`, id };
  return { kind: 'invalid', id, error: new AnsweredError('NBW_ERR_TOO_LARGE', `request too large: ${what}`) };
}

const ENVELOPE_KEYS = new Set(['version', 'id', 'type', 'subType', 'timeStamp', 'payload']);

/**
 * A CONNECT RESPONSE is taken as NetBackup's pages describe it: valid when `payload.valid` is
 * true, whatever else the envelope holds (a missing timeStamp, another version, extra fields
 * are reported as `unusual`, not refused).
 */
function decodeConnectResponse(msg: Record<string, unknown>, id: string): Inbound {
  const payload = msg.payload;
  const valid = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>).valid : undefined;
  if (valid !== true) {
    const problem = valid === false ? undefined : `payload.valid is ${valid === undefined ? 'missing' : `${JSON.stringify(valid)?.slice(0, 40)}, not true or false`}`;
    return { kind: 'connect-response', id, valid: false, ...(problem ? { problem } : {}) };
  }
  const parsed = ConnectResponse.safeParse(msg);
  const notes = parsed.success ? [] : [describeIssues(parsed.error)];
  const extra = Object.keys(msg).filter((k) => !ENVELOPE_KEYS.has(k));
  const extraPayload = Object.keys(payload as object).filter((k) => k !== 'valid');
  if (extra.length) notes.push(`extra fields ${extra.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`);
  if (extraPayload.length) notes.push(`extra payload fields ${extraPayload.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`);
  return { kind: 'connect-response', id, valid: true, ...(notes.length ? { unusual: notes.join('; ') } : {}) };
}

/** Classifies an already parsed JSON object. */
export function decodeMessage(msg: Record<string, unknown>): Inbound {
  const { id, type, subType } = msg;
  if (typeof id !== 'string' || id.length === 0) {
    return { kind: 'drop', reason: 'message has no usable id (a non-empty string)' };
  }
  if (type === 'COMMAND') {
    if (subType === 'RESPONSE') return { kind: 'drop', reason: 'stray COMMAND RESPONSE', id };
    const common = readCommandRequest(msg);
    if (common) return { kind: 'command', command: common };
    const parsed = CommandRequest.safeParse(msg);
    if (parsed.success) return { kind: 'command', command: parsed.data };
    return {
      kind: 'invalid',
      id,
      error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: ${describeIssues(parsed.error)}`),
    };
  }
  if (type === 'CONNECT' && subType === 'RESPONSE') return decodeConnectResponse(msg, id);
  if (type === 'NOTIFICATION' && subType === 'RESPONSE') return { kind: 'notification-response', id };
  const what = typeof type === 'string' ? `${type} ${typeof subType === 'string' ? subType : ''}`.trim() : 'message without a type';
  return { kind: 'drop', reason: `unexpected ${what}`, id };
}

/** The CONNECT REQUEST that opens every connection. */
export function encodeConnectRequest(id: string, token: string, timeStamp = nowSeconds()): string {
  return JSON.stringify({ version: PROTOCOL_VERSION, id, type: 'CONNECT', subType: 'REQUEST', timeStamp, payload: { token } });
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
  return JSON.stringify({ version: PROTOCOL_VERSION, id, type: 'COMMAND', subType: 'RESPONSE', timeStamp, payload });
}

/** A NOTIFICATION REQUEST carrying `notifications` (each an object type with its records). */
export function encodeNotificationRequest(id: string, notifications: NotificationRequest['payload'], timeStamp = nowSeconds()): string {
  return JSON.stringify({ version: PROTOCOL_VERSION, id, type: 'NOTIFICATION', subType: 'REQUEST', timeStamp, payload: notifications });
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
