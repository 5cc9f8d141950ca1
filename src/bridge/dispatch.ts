// One table from each kind of inbound message to the part that handles it. The link frames,
// decodes and hands every message here (the CONNECT handshake stays with the connection);
// a kind no part handles is logged and dropped, and nothing a handler throws reaches the link.
import { logId } from '../log/fields.js';
import { WarnLimiter } from '../log/limiter.js';
import type { Logger } from '../log/logger.js';
import type { Part } from '../part.js';
import type { Delivered } from '../protocol/read.js';
import type { Channel } from './channel.js';
import { CODE } from '../errors.js';

export type { Delivered };
export type DeliveredKind = Delivered['kind'];
export type Handler<K extends DeliveredKind> = (msg: Extract<Delivered, { kind: K }>, ch: Channel) => void;

/** Why a message of a kind nobody handles was dropped, in the operator's words. */
const UNHANDLED: Record<DeliveredKind, string> = {
  command: 'dropped a COMMAND REQUEST: nothing serves commands here',
  invalid: 'dropped an invalid message: nothing serves commands here',
  'notification-response': 'dropped a NOTIFICATION RESPONSE for no notification sent',
  drop: 'dropped a message',
};

export class Dispatcher implements Part {
  readonly name = 'dispatcher';
  readonly #table = new Map<DeliveredKind, Handler<DeliveredKind>>();
  readonly #log: Logger;
  /** Drops the cloud can cause at will, limited per connection and kind. */
  readonly #warn: WarnLimiter;

  constructor(log: Logger) {
    this.#log = log;
    this.#warn = new WarnLimiter(log);
  }

  /** Hands messages of `kind` to `handler`; each kind has one handler. */
  on<K extends DeliveredKind>(kind: K, handler: Handler<K>): this {
    if (this.#table.has(kind)) throw new TypeError(`a handler for ${kind} messages is already registered`);
    this.#table.set(kind, handler as unknown as Handler<DeliveredKind>);
    return this;
  }

  dispatch(msg: Delivered, ch: Channel): void {
    const handler = this.#table.get(msg.kind);
    const id = msg.kind === 'command' ? msg.command.id : msg.id;
    try {
      if (handler) handler(msg, ch);
      else this.#warn.warn(ch.connection, msg.kind, { id: logId(id), code: CODE.NBW_ERR_FRAME_DROPPED, ...(msg.kind === 'drop' ? { reason: msg.reason } : {}) }, UNHANDLED[msg.kind]);
    } catch (err) {
      try {
        this.#log.error({ err, kind: msg.kind, id: logId(id), code: CODE.NBW_ERR_INTERNAL }, 'unexpected error handling a message; dropped');
      } catch {
        // A logger that throws cannot be told; the link goes on either way.
      }
    }
  }

  /** Writes the summary of the drops not logged yet (after the links have closed). */
  stop(): void {
    this.#warn.flush();
  }
}
