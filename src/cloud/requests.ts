// The hub's requests waiting for an answer, by agent and id: each with its frame (sent again,
// unchanged, whenever its agent is reachable anew), its time limit, and the connection it
// last went out on. Bounded per agent; a second request under an id already waiting shares
// the first one's answer.
import { encodeEnvelope } from '../protocol/encode.js';
import { AgentOfflineError, InFlightFullError, InvalidRequestError, RequestTimeoutError } from './errors.js';
import { MAX_ID_LENGTH } from './endpoint.js';
import type { HubRequest, HubResponse } from './types.js';

export interface Pending {
  readonly agentId: string;
  readonly id: string;
  readonly frame: string;
  readonly started: number;
  /** When it times out (ms since the epoch): other hub nodes drop it then too. */
  readonly deadline: number;
  readonly timer: NodeJS.Timeout;
  /** What it last went out on (a connection of this hub, or another hub node's id), or null while it waits. */
  via: unknown;
  /** It went out at least once: a timeout may have run it. */
  sent: boolean;
  /** When it was last sent or tried (performance.now()). */
  sentAt: number;
  resolve(res: HubResponse): void;
  reject(err: Error): void;
}

/** The longest time limit a Node.js timer keeps (a longer one fires at once). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** Why `req` cannot be sent, or null. */
export function invalidRequest(req: HubRequest): InvalidRequestError | null {
  if (req.id !== undefined && (typeof req.id !== 'string' || req.id.length === 0 || req.id.length > MAX_ID_LENGTH)) return new InvalidRequestError(`id: must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  const t = req.timeoutMs;
  if (t !== undefined && (!Number.isSafeInteger(t) || t < 1 || t > MAX_TIMEOUT_MS)) return new InvalidRequestError(`timeoutMs: must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  return null;
}

/** A COMMAND REQUEST frame for `req` under `id`. */
export function requestFrame(id: string, req: HubRequest): string {
  const payload: Record<string, unknown> = { uri: req.uri, method: req.method, headers: req.headers ?? {} };
  if (req.body !== undefined) payload.parameters = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  return encodeEnvelope('COMMAND', 'REQUEST', id, payload);
}

export class Outstanding {
  readonly #max: number;
  readonly #maxTotal: number;
  readonly #byAgent = new Map<string, Map<string, Pending>>();
  readonly #onTimeout: (p: Pending) => void;
  #total = 0;

  constructor(maxPerAgent: number, maxTotal: number, onTimeout: (p: Pending) => void) {
    this.#max = maxPerAgent;
    this.#maxTotal = maxTotal;
    this.#onTimeout = onTimeout;
  }

  count(agentId: string): number {
    return this.#byAgent.get(agentId)?.size ?? 0;
  }

  /** Every request waiting, across agents. */
  get size(): number {
    return this.#total;
  }

  get(agentId: string, id: string): Pending | undefined {
    return this.#byAgent.get(agentId)?.get(id);
  }

  /** Every request waiting (a copy). */
  all(): Pending[] {
    return [...this.#byAgent.values()].flatMap((m) => [...m.values()]);
  }

  /** The requests waiting for `agentId` (a copy: sending may settle them). */
  of(agentId: string): Pending[] {
    return [...(this.#byAgent.get(agentId)?.values() ?? [])];
  }

  /**
   * A new request, or the one already waiting under its id (then the promise shares its
   * answer, and `pending` is null: it is out already).
   */
  add(agentId: string, id: string, req: HubRequest, timeoutMs: number): { promise: Promise<HubResponse>; pending: Pending | null; full: boolean } {
    let m = this.#byAgent.get(agentId);
    const existing = m?.get(id);
    if (existing) return { promise: new Promise((resolve, reject) => chain(existing, resolve, reject)), pending: null, full: false };
    if ((m?.size ?? 0) >= this.#max) return { promise: Promise.reject(new InFlightFullError(agentId, this.#max, 'maxInFlightPerAgent')), pending: null, full: true };
    if (this.#total >= this.#maxTotal) return { promise: Promise.reject(new InFlightFullError(agentId, this.#maxTotal, 'maxInFlight')), pending: null, full: true };
    if (!m) this.#byAgent.set(agentId, (m = new Map()));
    const frame = requestFrame(id, req);
    let pending!: Pending;
    const promise = new Promise<HubResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(pending);
        pending.reject(pending.sent ? new RequestTimeoutError(agentId, id, timeoutMs) : new AgentOfflineError(agentId, timeoutMs)); // and every request sharing its id
        this.#onTimeout(pending);
      }, timeoutMs);
      pending = { agentId, id, frame, started: performance.now(), deadline: Date.now() + timeoutMs, timer, via: null, sent: false, sentAt: 0, resolve, reject };
    });
    m.set(id, pending);
    this.#total++;
    return { promise, pending, full: false };
  }

  /** A request is answered or timed out: it leaves its agent's list (and an empty list goes). */
  settle(p: Pending): boolean {
    const m = this.#byAgent.get(p.agentId);
    if (m?.get(p.id) !== p) return false;
    clearTimeout(p.timer);
    m.delete(p.id);
    this.#total--;
    if (m.size === 0) this.#byAgent.delete(p.agentId);
    return true;
  }

  /** Rejects and drops every request. */
  rejectAll(err: () => Error): void {
    for (const m of this.#byAgent.values()) {
      for (const p of m.values()) {
        clearTimeout(p.timer);
        p.reject(err());
      }
    }
    this.#byAgent.clear();
    this.#total = 0;
  }
}

/** A second request under an id already waiting shares its answer. */
function chain(p: Pending, resolve: (r: HubResponse) => void, reject: (e: Error) => void): void {
  const [first, firstErr] = [p.resolve, p.reject];
  p.resolve = (r) => (first(r), resolve(r));
  p.reject = (e) => (firstErr(e), reject(e));
}
