// Serves COMMAND REQUESTs: policy, queue, REST call, and exactly one answer per accepted id.
//
// This module does no I/O of its own: the REST caller, the queue and the delivery of answers
// are handed in, so it runs the same under the daemon, `replay` and the tests.
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Policy } from '../policy/allow.js';
import { encodeCommandResponse, encodeErrorResponse, type Inbound } from '../protocol/codec.js';
import type { CommandRequest } from '../protocol/envelope.js';
import type { CommandQueue } from '../queue/queue.js';
import { requestHeaders } from '../rest/headers.js';
import type { RestCaller } from '../rest/client.js';

/** Where an answer goes: the daemon sends it on the link, `replay` prints it. */
export type Deliver = (id: string, frame: string, status: number) => void;

export interface CommandServiceOptions {
  policy: Policy;
  rest: RestCaller;
  queue: CommandQueue;
  deliver: Deliver;
  log: Logger;
}

/** The path of a uri without its query, the only part of a uri that is logged. */
const pathOf = (uri: string) => {
  const q = uri.indexOf('?');
  return (q === -1 ? uri : uri.slice(0, q)).slice(0, 512);
};

export class CommandService {
  readonly #policy: Policy;
  readonly #rest: RestCaller;
  readonly #queue: CommandQueue;
  readonly #deliver: Deliver;
  readonly #log: Logger;
  #accepting = true;

  constructor(opts: CommandServiceOptions) {
    this.#policy = opts.policy;
    this.#rest = opts.rest;
    this.#queue = opts.queue;
    this.#deliver = opts.deliver;
    this.#log = opts.log;
  }

  /** Handles one inbound message that concerns commands; everything else is logged and dropped. */
  handle(msg: Inbound): void {
    switch (msg.kind) {
      case 'command':
        this.accept(msg.command);
        return;
      case 'invalid':
        this.#log.warn({ id: msg.id, code: msg.error.code, reason: msg.error.message }, 'answered an invalid request');
        this.#answerError(msg.id, msg.error);
        return;
      case 'notification-response':
        this.#log.warn({ id: msg.id, code: 'NBW_ERR_FRAME_DROPPED' }, 'dropped a NOTIFICATION RESPONSE for no notification sent');
        return;
      case 'drop':
        this.#log.warn({ id: msg.id, code: 'NBW_ERR_FRAME_DROPPED', reason: msg.reason }, 'dropped a message');
        return;
      case 'connect-response':
        this.#log.warn({ id: msg.id, code: 'NBW_ERR_FRAME_DROPPED' }, 'dropped a stray CONNECT RESPONSE');
        return;
    }
  }

  /** Serves one valid COMMAND REQUEST; its id gets exactly one answer. */
  accept(cmd: CommandRequest): void {
    const { id, payload } = cmd;
    const { method, uri } = payload;
    if (!this.#accepting) {
      this.#answerError(id, new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is shutting down; send the request again later'));
      return;
    }
    const checked = this.#policy.check(method, uri);
    if (!checked.ok) {
      this.#log.warn({ id, method, path: pathOf(uri), code: checked.error.code, reason: checked.error.message }, 'refused by policy');
      this.#answerError(id, checked.error);
      return;
    }
    const call = {
      method,
      path: checked.path,
      headers: requestHeaders(payload.headers),
      body: payload.parameters,
    };
    const started = performance.now();
    const accepted = this.#queue.submit({
      run: async () => {
        try {
          const res = await this.#rest.call(call);
          const ms = Math.round(performance.now() - started);
          if (this.#log.isLevelEnabled('debug')) {
            this.#log.debug({ id, method, path: pathOf(uri), status: res.responseCode, ms }, 'answered');
          }
          this.#deliver(id, encodeCommandResponse(id, res), res.responseCode);
        } catch (err) {
          const error = err instanceof AnsweredError ? err : new AnsweredError('NBW_ERR_REST_FAILED', 'REST call failed', { cause: err });
          const ms = Math.round(performance.now() - started);
          this.#log.warn({ id, method, path: pathOf(uri), status: error.status, code: error.code, reason: error.message, ms }, 'REST call failed');
          this.#answerError(id, error);
        }
      },
      cancel: (error) => this.#answerError(id, error),
    });
    if (!accepted) {
      this.#log.warn({ id, method, path: pathOf(uri), running: this.#queue.running, waiting: this.#queue.waiting }, 'queue full; answered 503');
      this.#answerError(id, new AnsweredError('NBW_ERR_QUEUE_FULL', 'the bridge queue is full; send the request again later'));
    }
  }

  /** From now on new requests are answered 503; waiting ones are answered 503 at once. */
  stopAccepting(): void {
    this.#accepting = false;
    this.#queue.cancelWaiting(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is shutting down; the request did not run'));
  }

  #answerError(id: string, error: AnsweredError): void {
    this.#deliver(id, encodeErrorResponse(id, error), error.status);
  }
}
