// Serves COMMAND REQUESTs: policy, queue, REST call, and one answer per id; an id once
// accepted never runs again (its repeats get the stored answer, or wait for the running call).
//
// This module does no I/O of its own: the REST caller, the queue, the id store and the
// delivery of answers are handed in, so it runs the same under the daemon, `replay` and tests.
import { DEFAULT_GROUP } from '../config/endpoints.js';
import { keyOf } from '../dedupe/keys.js';
import { CODE, AnsweredError } from '../errors.js';
import { logId } from '../log/fields.js';
import { WarnLimiter } from '../log/limiter.js';
import type { Logger } from '../log/logger.js';
import { NO_BACKEND, NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import type { RouteTarget, Routing } from '../backends/router.js';
import { bodyNotText, encodeCommandResponse, encodeErrorResponse } from '../protocol/encode.js';
import type { Inbound } from '../protocol/read.js';
import type { CommandRequest } from '../protocol/envelope.js';
import type { CommandQueue } from '../queue/queue.js';
import { requestHeaders } from '../rest/headers.js';
import type { RestCall } from '../rest/client.js';
import type { IdEntry, IdStore } from '../dedupe/idstore.js';
import type { Answerer, Channel } from './channel.js';

export type { Answerer, Channel };

/** The messages this service handles: requests, valid or not. */
export type CommandMessage = Extract<Inbound, { kind: 'command' | 'invalid' }>;

export interface CommandServiceOptions {
  /** Which backend a uri reaches, under which policy. */
  routes: Routing;
  queue: CommandQueue;
  store: IdStore;
  log: Logger;
  telemetry?: Telemetry;
  /** The bridge's protocol extensions (base64 bodies, error codes in its own answers); on by default. */
  extensions?: boolean;
}

export { DEFAULT_GROUP, keyOf };

/** The path of a uri without its query, the only part of a uri that is logged. */
// Stryker disable all: only shapes the path written in log lines (that no query reaches a log is tested on the logs)
const pathOf = (uri: string) => {
  const q = uri.indexOf('?');
  return (q === -1 ? uri : uri.slice(0, q)).slice(0, 512);
};
// Stryker restore all

/** Methods that may run again after a restart interrupted them: they change nothing. */
const SAFE_TO_RERUN = new Set(['GET', 'HEAD']);

export class CommandService {
  readonly #routes: Routing;
  readonly #queue: CommandQueue;
  readonly #store: IdStore;
  readonly #log: Logger;
  /** Warnings the cloud can cause at will, limited per connection and kind. */
  readonly #warn: WarnLimiter;
  readonly #telemetry: Telemetry;
  /** Requests accepted per connection and not answered yet. */
  readonly #pending = new Map<number, number>();
  readonly #extensions: boolean;
  #accepting = true;

  constructor(opts: CommandServiceOptions) {
    this.#routes = opts.routes;
    this.#queue = opts.queue;
    this.#store = opts.store;
    this.#log = opts.log;
    this.#warn = new WarnLimiter(opts.log);
    this.#telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.#extensions = opts.extensions ?? true;
  }

  /** Requests that arrived on `connection` and are not answered yet. */
  pendingOn(connection: number): number {
    return this.#pending.get(connection) ?? 0;
  }

  /**
   * Handles a COMMAND REQUEST, or a message that was meant as one (`invalid`). Nothing escapes: an unexpected error becomes a 500 answer for the id (when it has one)
   * and an error log, never an exception out of the link.
   */
  handle(msg: CommandMessage, ch: Channel): void {
    try {
      this.#dispatch(msg, ch);
    } catch (err) {
      const id = msg.kind === 'command' ? msg.command.id : msg.id;
      this.#log.error({ err, id: logId(id), code: CODE.NBW_ERR_INTERNAL }, 'unexpected error serving a message');
      try {
        this.#answerError(ch, id, new AnsweredError('NBW_ERR_INTERNAL', 'the bridge failed unexpectedly serving this request; it did not reach the REST API'), '?');
      } catch (again) {
        this.#log.error({ err: again, id: logId(id), code: CODE.NBW_ERR_INTERNAL }, 'could not answer the request either');
      }
    }
  }

  #dispatch(msg: CommandMessage, ch: Channel): void {
    if (msg.kind === 'command') {
      this.accept(msg.command, ch);
      return;
    }
    // A malformed resend of an id already accepted is a repeat: it must not get a second, different answer.
    const known = this.#store.get(keyOf(ch.group, msg.id));
    if (known && this.#repeat(known, msg.id, ch)) return;
    this.#warn.warn(ch.connection, 'invalid', { id: logId(msg.id), code: msg.error.code, reason: msg.error.message }, 'answered an invalid request');
    this.#answerError(ch, msg.id, msg.error, '?');
  }

  /** Serves one valid COMMAND REQUEST. */
  accept(cmd: CommandRequest, ch: Channel): void {
    const { id, payload } = cmd;
    const { method, uri } = payload;
    const key = keyOf(ch.group, id);
    const known = this.#store.get(key);
    if (known && this.#repeat(known, id, ch)) return;
    if (!this.#accepting) {
      this.#answerError(ch, id, new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is shutting down; send the request again later'), method);
      return;
    }
    const route = this.#routes.route(method, uri);
    if (!route.ok) {
      this.#warn.warn(ch.connection, 'policy', { id, method, path: pathOf(uri), code: route.error.code, reason: route.error.message }, 'refused by policy');
      this.#answerError(ch, id, route.error, method);
      return;
    }
    const target = route.backend;
    const call: RestCall = { method, path: route.path, headers: requestHeaders(payload.headers), body: payload.parameters };
    // Journaled with the method the backend receives: whether a call may run again after a crash depends on that one.
    const entry = this.#store.queue(key, target.methodSent?.(method) ?? method, ch.connection);
    const origin = ch.connection;
    this.#pending.set(origin, this.pendingOn(origin) + 1);
    const accepted = this.#queue.submit(
      {
        run: () => this.#run(entry, id, target, call, uri, ch, origin),
        cancel: (error) => {
          this.#store.forget(key);
          this.#settled(origin);
          this.#answerError(ch, id, error, method, target.name);
        },
      },
      ch.group,
    );
    if (!accepted) {
      this.#store.forget(key);
      this.#settled(origin);
      this.#warn.warn(ch.connection, 'full', { id, method, path: pathOf(uri), running: this.#queue.running, waiting: this.#queue.waiting }, 'queue full; answered 503');
      this.#answerError(ch, id, new AnsweredError('NBW_ERR_QUEUE_FULL', 'the bridge queue is full; send the request again later'), method, target.name);
    }
  }

  /** From now on new requests are answered 503; waiting ones are answered 503 at once. Summaries of limited warnings are written. */
  stopAccepting(): void {
    this.#warn.flush();
    this.#accepting = false;
    this.#queue.cancelWaiting(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is shutting down; the request did not run'));
  }

  /**
   * A request whose id is already known. Returns true when it is dealt with; false when it
   * should run as new (a GET or HEAD interrupted by a restart).
   */
  #repeat(e: IdEntry, id: string, ch: Channel): boolean {
    // Stryker disable next-line ConditionalExpression: `crossed` is read only for answered ids
    const crossed = (e.state === 'done' || e.state === 'expired') && ch.answers.crossedOnTheWay(e);
    e.askedOn = ch.connection;
    switch (e.state) {
      case 'queued':
      case 'running':
        this.#telemetry.dedupeHit('attached');
        this.#log.debug({ id, state: e.state }, 'repeat of an id in flight: it runs once, its answer goes out when it finishes');
        return true;
      case 'done':
        if (!crossed && ch.answers.onItsWay(e)) {
          // Another copy would only pile up behind the one being written: one copy per connection at a time.
          this.#telemetry.dedupeHit('attached');
          return true;
        }
        if (crossed) {
          this.#telemetry.dedupeHit('crossed');
          this.#log.debug({ id }, 'resend of an id from an earlier connection whose answer already went out on this one; not sent twice');
        } else {
          this.#telemetry.dedupeHit('replayed');
          this.#log.debug({ id }, 'repeat of an answered id: stored answer sent again, nothing run');
          ch.answers.deliver(e.id, e.frame as string, e);
        }
        return true;
      case 'expired':
        if (crossed) {
          this.#telemetry.dedupeHit('crossed');
          this.#log.debug({ id }, 'resend of an id whose answer already went out on this connection; not answered twice');
          return true;
        }
        this.#telemetry.dedupeHit('expired');
        this.#answerError(ch, id, new AnsweredError('NBW_ERR_RESPONSE_EXPIRED', 'response expired: this id was already executed and its answer is no longer held; it is not run again'), e.method);
        return true;
      case 'interrupted': {
        if (SAFE_TO_RERUN.has(e.method)) {
          this.#store.forget(e.id);
          this.#log.info({ id, method: e.method }, 'resend of a call interrupted by a restart: it changes nothing, so it runs again');
          return false;
        }
        this.#telemetry.dedupeHit('outcome_unknown');
        this.#log.warn({ id, method: e.method }, 'resend of a call interrupted by a restart: outcome unknown, not run again; answered 409');
        const error = new AnsweredError(
          'NBW_ERR_OUTCOME_UNKNOWN',
          `outcome unknown: the bridge restarted while this ${e.method} was running, so it may or may not have taken effect; it is not run again`,
        );
        this.#telemetry.bridgeError(error.code);
        this.#telemetry.answered(NO_BACKEND, e.method, error.status);
        void this.#finish(e, encodeErrorResponse(id, error, this.#extensions), ch);
        return true;
      }
    }
  }

  async #run(entry: IdEntry, id: string, target: RouteTarget, call: RestCall, uri: string, ch: Channel, origin: number): Promise<void> {
    const journaled = this.#store.start(entry);
    // Stryker disable next-line ConditionalExpression: awaiting undefined changes nothing
    if (journaled) await journaled;
    const started = performance.now();
    let frame: string;
    let status: number;
    try {
      const res = await target.call(call);
      if (res.bodyEncoding && !this.#extensions) throw bodyNotText(res);
      const ms = performance.now() - started;
      this.#telemetry.restDuration(target.name, call.method, ms / 1000);
      if (this.#log.isLevelEnabled('debug')) {
        this.#log.debug({ id, method: call.method, path: pathOf(uri), status: res.responseCode, ms: Math.round(ms) }, 'answered');
      }
      frame = encodeCommandResponse(id, res);
      status = res.responseCode;
    } catch (err) {
      // Stryker disable next-line ObjectLiteral: the cause is kept for a debugger; nothing shows it
      const error = err instanceof AnsweredError ? err : new AnsweredError('NBW_ERR_REST_FAILED', 'REST call failed', { cause: err });
      // Stryker disable next-line ArithmeticOperator: only a log field
      const ms = Math.round(performance.now() - started);
      this.#warn.warn(
        target.name,
        error.code,
        { id, method: call.method, path: pathOf(uri), backend: target.name, origin: target.origin, status: error.status, code: error.code, reason: error.message, ms },
        'REST call failed',
      );
      this.#telemetry.bridgeError(error.code);
      frame = encodeErrorResponse(id, error, this.#extensions);
      status = error.status;
    }
    this.#telemetry.answered(target.name, call.method, status);
    const stored = this.#finish(entry, frame, ch, origin);
    // Stryker disable next-line ConditionalExpression: awaiting undefined changes nothing
    if (stored) await stored;
  }

  /**
   * Stores the answer (durably, with a state dir), then sends it; `origin` is the connection it
   * was counted on. The answer is pinned in the store until the courier has it, so that no
   * byte bound releases it in between.
   */
  #finish(entry: IdEntry, frame: string, ch: Channel, origin?: number): Promise<void> | undefined {
    this.#store.pin(entry);
    const send = () => {
      // Stryker disable next-line ConditionalExpression: counting down an undefined connection finds nothing to count
      if (origin !== undefined) this.#settled(origin);
      try {
        ch.answers.deliver(entry.id, frame, entry);
      } finally {
        this.#store.unpin(entry);
      }
    };
    const durable = this.#store.finish(entry, frame);
    if (!durable) {
      send();
      return undefined;
    }
    return durable.then(send);
  }

  #settled(connection: number): void {
    const n = this.pendingOn(connection) - 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a count of 0 and no count read the same; deleting keeps the map small
    if (n > 0) this.#pending.set(connection, n);
    else this.#pending.delete(connection);
  }

  /** Answers an error of the bridge's own; `backend` is where the call would have gone, if it got that far. */
  #answerError(ch: Channel, id: string, error: AnsweredError, method: string, backend = NO_BACKEND): void {
    this.#telemetry.bridgeError(error.code);
    this.#telemetry.answered(backend, method, error.status);
    ch.answers.deliver(keyOf(ch.group, id), encodeErrorResponse(id, error, this.#extensions));
  }
}
