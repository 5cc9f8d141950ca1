// Serves COMMAND REQUESTs: policy, queue, REST call, and one answer per id; an id once
// accepted never runs again (its repeats get the stored answer, or wait for the running call).
//
// This module does no I/O of its own: the REST caller, the queue, the id store and the
// delivery of answers are handed in, so it runs the same under the daemon, `replay` and tests.
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Policy } from '../policy/allow.js';
import { encodeCommandResponse, encodeErrorResponse, type Inbound } from '../protocol/codec.js';
import type { CommandRequest } from '../protocol/envelope.js';
import type { CommandQueue } from '../queue/queue.js';
import { requestHeaders } from '../rest/headers.js';
import type { RestCall, RestCaller } from '../rest/client.js';
import type { IdEntry, IdStore } from '../state/idstore.js';

/** Where answers go: the daemon's courier sends them on the link, `replay` prints them. */
export interface Answerer {
  deliver(id: string, frame: string, entry?: IdEntry): void;
  /** The connection requests arrive on now (0 where there is none). */
  readonly connection: number;
  /** True when a repeat of this answered id needs no answer of its own (see Courier). */
  crossedOnTheWay(entry: IdEntry): boolean;
}

export interface CommandServiceOptions {
  policy: Policy;
  rest: RestCaller;
  queue: CommandQueue;
  store: IdStore;
  answers: Answerer;
  log: Logger;
}

/** The path of a uri without its query, the only part of a uri that is logged. */
const pathOf = (uri: string) => {
  const q = uri.indexOf('?');
  return (q === -1 ? uri : uri.slice(0, q)).slice(0, 512);
};

/** Methods that may run again after a restart interrupted them: they change nothing. */
const SAFE = new Set(['GET', 'HEAD']);

export class CommandService {
  readonly #policy: Policy;
  readonly #rest: RestCaller;
  readonly #queue: CommandQueue;
  readonly #store: IdStore;
  readonly #answers: Answerer;
  readonly #log: Logger;
  #accepting = true;

  constructor(opts: CommandServiceOptions) {
    this.#policy = opts.policy;
    this.#rest = opts.rest;
    this.#queue = opts.queue;
    this.#store = opts.store;
    this.#answers = opts.answers;
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

  /** Serves one valid COMMAND REQUEST. */
  accept(cmd: CommandRequest): void {
    const { id, payload } = cmd;
    const known = this.#store.get(id);
    if (known && this.#repeat(known)) return;
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
    const call: RestCall = { method, path: checked.path, headers: requestHeaders(payload.headers), body: payload.parameters };
    const entry = this.#store.queue(id, method, this.#answers.connection);
    const accepted = this.#queue.submit({
      run: () => this.#run(entry, call, pathOf(uri)),
      cancel: (error) => {
        this.#store.forget(id);
        this.#answerError(id, error);
      },
    });
    if (!accepted) {
      this.#store.forget(id);
      this.#log.warn({ id, method, path: pathOf(uri), running: this.#queue.running, waiting: this.#queue.waiting }, 'queue full; answered 503');
      this.#answerError(id, new AnsweredError('NBW_ERR_QUEUE_FULL', 'the bridge queue is full; send the request again later'));
    }
  }

  /** From now on new requests are answered 503; waiting ones are answered 503 at once. */
  stopAccepting(): void {
    this.#accepting = false;
    this.#queue.cancelWaiting(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is shutting down; the request did not run'));
  }

  /**
   * A request whose id is already known. Returns true when it is dealt with; false when it
   * should run as new (a GET or HEAD interrupted by a restart).
   */
  #repeat(e: IdEntry): boolean {
    const crossed = e.state === 'done' && this.#answers.crossedOnTheWay(e);
    e.askedOn = this.#answers.connection;
    switch (e.state) {
      case 'queued':
      case 'running':
        this.#log.debug({ id: e.id, state: e.state }, 'repeat of an id in flight: it runs once, its answer goes out when it finishes');
        return true;
      case 'done':
        if (crossed) {
          this.#log.debug({ id: e.id }, 'resend of an id from an earlier connection whose answer already went out on this one; not sent twice');
        } else {
          this.#log.debug({ id: e.id }, 'repeat of an answered id: stored answer sent again, nothing run');
          this.#answers.deliver(e.id, e.frame as string, e);
        }
        return true;
      case 'expired':
        this.#answerError(e.id, new AnsweredError('NBW_ERR_RESPONSE_EXPIRED', 'response expired: this id was already executed and its answer is no longer held; it is not run again'));
        return true;
      case 'interrupted':
        if (SAFE.has(e.method)) {
          this.#store.forget(e.id);
          this.#log.info({ id: e.id, method: e.method }, 'resend of a call interrupted by a restart: it changes nothing, so it runs again');
          return false;
        }
        this.#log.warn({ id: e.id, method: e.method }, 'resend of a call interrupted by a restart: outcome unknown, not run again; answered 409');
        void this.#finish(e, encodeErrorResponse(e.id, new AnsweredError(
          'NBW_ERR_OUTCOME_UNKNOWN',
          `outcome unknown: the bridge restarted while this ${e.method} was running, so it may or may not have taken effect; it is not run again`,
        )));
        return true;
    }
  }

  async #run(entry: IdEntry, call: RestCall, path: string): Promise<void> {
    const { id } = entry;
    const journaled = this.#store.start(entry);
    if (journaled) await journaled;
    const started = performance.now();
    let frame: string;
    try {
      const res = await this.#rest.call(call);
      if (this.#log.isLevelEnabled('debug')) {
        this.#log.debug({ id, method: call.method, path, status: res.responseCode, ms: Math.round(performance.now() - started) }, 'answered');
      }
      frame = encodeCommandResponse(id, res);
    } catch (err) {
      const error = err instanceof AnsweredError ? err : new AnsweredError('NBW_ERR_REST_FAILED', 'REST call failed', { cause: err });
      const ms = Math.round(performance.now() - started);
      this.#log.warn({ id, method: call.method, path, status: error.status, code: error.code, reason: error.message, ms }, 'REST call failed');
      frame = encodeErrorResponse(id, error);
    }
    const stored = this.#finish(entry, frame);
    if (stored) await stored;
  }

  /** Stores the answer (durably, with a state dir), then sends it. */
  #finish(entry: IdEntry, frame: string): Promise<void> | undefined {
    const durable = this.#store.finish(entry, frame);
    if (!durable) {
      this.#answers.deliver(entry.id, frame, entry);
      return undefined;
    }
    return durable.then(() => this.#answers.deliver(entry.id, frame, entry));
  }

  #answerError(id: string, error: AnsweredError): void {
    this.#answers.deliver(id, encodeErrorResponse(id, error));
  }
}
