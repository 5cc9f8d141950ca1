// Turns WebSocket text frames into typed inbound messages without the schema library: JSON,
// the depth bound, the id, the kind, and the COMMAND REQUEST in the form nearly every cloud
// sends (command.ts). What only the schema can describe (a COMMAND REQUEST that is invalid, or
// in one of its lenient forms) comes back `unchecked`, for codec.ts to finish.
//
// readFrame never throws: every frame becomes exactly one value, and a frame that cannot be
// answered (no usable id) becomes a `drop` with the reason to log.
import { AnsweredError } from '../errors.js';
import type { CommandRequest } from './envelope.js';
import { readCommandRequest } from './command.js';
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan } from './depth.js';
import { MAX_ID_LENGTH, PROTOCOL_VERSION, SAYS } from './wire.js';

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

/** A COMMAND REQUEST under a usable id that only the schema can read (or say what is wrong with). */
export interface Unchecked {
  kind: 'unchecked';
  id: string;
  msg: Record<string, unknown>;
}

const describeType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * Reads one text frame. JSON nested deeper than `maxDepth` goes no further than its id: a
 * COMMAND REQUEST is answered 400, anything else dropped.
 */
export function readFrame(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): Inbound | Unchecked {
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
  return readMessage(msg as Record<string, unknown>);
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
const quoted = (keys: string[]) => keys.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ');

/**
 * A CONNECT RESPONSE is taken as NetBackup's pages describe it: valid when `payload.valid` is
 * true, whatever else the envelope holds (a missing timeStamp, another version, extra fields
 * are reported as `unusual`, not refused).
 */
function readConnectResponse(msg: Record<string, unknown>, id: string): Inbound {
  const payload = msg.payload;
  const valid = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>).valid : undefined;
  if (valid !== true) {
    const problem = valid === false ? undefined : `payload.valid is ${valid === undefined ? 'missing' : `${JSON.stringify(valid)?.slice(0, 40)}, not true or false`}`;
    return { kind: 'connect-response', id, valid: false, ...(problem ? { problem } : {}) };
  }
  // What the envelope's schema would say of it (a note for the log, never a refusal).
  const notes: string[] = [];
  if (msg.version !== PROTOCOL_VERSION) notes.push(`version: ${SAYS.version}`);
  if (id.length > MAX_ID_LENGTH) notes.push(`id: ${SAYS.idTooLong}`);
  const t = msg.timeStamp;
  if (typeof t !== 'number') notes.push(`timeStamp: ${SAYS.timeStamp}`);
  else if (t < 0) notes.push('timeStamp: must not be negative');
  const extra = Object.keys(msg).filter((k) => !ENVELOPE_KEYS.has(k));
  const extraPayload = Object.keys(payload as object).filter((k) => k !== 'valid');
  if (extra.length) notes.push(`extra fields ${quoted(extra)}`);
  if (extraPayload.length) notes.push(`extra payload fields ${quoted(extraPayload)}`);
  return { kind: 'connect-response', id, valid: true, ...(notes.length ? { unusual: notes.join('; ') } : {}) };
}

/** Classifies an already parsed JSON object. */
export function readMessage(msg: Record<string, unknown>): Inbound | Unchecked {
  const { id, type, subType } = msg;
  if (typeof id !== 'string' || id.length === 0) {
    return { kind: 'drop', reason: 'message has no usable id (a non-empty string)' };
  }
  if (type === 'COMMAND') {
    if (subType === 'RESPONSE') return { kind: 'drop', reason: 'stray COMMAND RESPONSE', id };
    const command = readCommandRequest(msg);
    return command ? { kind: 'command', command } : { kind: 'unchecked', id, msg };
  }
  if (type === 'CONNECT' && subType === 'RESPONSE') return readConnectResponse(msg, id);
  if (type === 'NOTIFICATION' && subType === 'RESPONSE') return { kind: 'notification-response', id };
  const what = typeof type === 'string' ? `${type} ${typeof subType === 'string' ? subType : ''}`.trim() : 'message without a type';
  return { kind: 'drop', reason: `unexpected ${what}`, id };
}
