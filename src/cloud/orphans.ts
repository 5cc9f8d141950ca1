// Answers no request waits for, kept a while: an agent back from a lost connection sends the
// answers it could not deliver, and those may come before the caller asks again under the same
// id (after a hub restart, say). The agent would not answer that repeat itself, since it sent
// the answer already; the hub gives the kept one instead. Bounded by count, bytes and age.
import { pairKey } from './handled.js';

export class Orphans {
  readonly #kept = new Map<string, { payload: object; bytes: number; at: number }>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  #bytes = 0;

  constructor(max = 1000, maxBytes = 16 * 1024 * 1024, ttlMs = 120_000) {
    this.#max = max;
    this.#maxBytes = maxBytes;
    this.#ttlMs = ttlMs;
  }

  put(agentId: string, id: string, payload: object): void {
    const body = (payload as { body?: unknown }).body;
    const bytes = 256 + (typeof body === 'string' ? body.length : 0);
    if (bytes > this.#maxBytes) return;
    this.#drop(pairKey(agentId, id));
    this.#kept.set(pairKey(agentId, id), { payload, bytes, at: Date.now() });
    this.#bytes += bytes;
    for (const key of this.#kept.keys()) {
      if (this.#kept.size <= this.#max && this.#bytes <= this.#maxBytes) break;
      this.#drop(key);
    }
  }

  /** The answer kept for `id` of `agentId`, if any and not too old (it is given once). */
  take(agentId: string, id: string): object | undefined {
    if (this.#kept.size === 0) return undefined; // the common case: no key to make
    const key = pairKey(agentId, id);
    const kept = this.#kept.get(key);
    if (!kept) return undefined;
    this.#drop(key);
    return Date.now() - kept.at <= this.#ttlMs ? kept.payload : undefined;
  }

  #drop(key: string): void {
    const kept = this.#kept.get(key);
    if (!kept) return;
    this.#kept.delete(key);
    this.#bytes -= kept.bytes;
  }
}
