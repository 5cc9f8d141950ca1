// One session per agent: the connection of each agent now, and the replaced ones still
// delivering what they carried. A replaced connection is closed once no request it carried
// waits for an answer, or after `graceMs`.
import type { Session } from './endpoint.js';
import type { Outstanding } from './requests.js';

const REPLACED = 'replaced by a newer connection of the same agent';

export class Sessions {
  readonly #current = new Map<string, Session>();
  readonly #draining = new Set<Session>();
  readonly #requests: Outstanding;
  readonly #graceMs: number;

  constructor(requests: Outstanding, graceMs: number) {
    this.#requests = requests;
    this.#graceMs = graceMs;
  }

  get size(): number {
    return this.#current.size;
  }

  get(agentId: string): Session | undefined {
    return this.#current.get(agentId);
  }

  all(): Session[] {
    return [...this.#current.values()];
  }

  /** `s` is its agent's session now; true when it replaced one (which drains). */
  take(s: Session): boolean {
    const older = this.#current.get(s.agentId);
    this.#current.set(s.agentId, s);
    if (!older) return false;
    older.replaced = true;
    this.#drain(older);
    return true;
  }

  /** `s` ended; true when it was its agent's session (the agent is offline now). */
  drop(s: Session): boolean {
    this.#draining.delete(s);
    clearTimeout(s.drainTimer);
    if (this.#current.get(s.agentId) !== s) return false;
    this.#current.delete(s.agentId);
    return true;
  }

  /** An answer of `agentId` came: a replaced connection with nothing left to deliver goes. */
  answered(agentId: string): void {
    for (const d of this.#draining) if (d.agentId === agentId) this.#drain(d);
  }

  close(): void {
    for (const s of this.#draining) clearTimeout(s.drainTimer);
  }

  #drain(s: Session): void {
    for (const id of s.carried) if (!this.#requests.get(s.agentId, id)) s.carried.delete(id);
    if (s.carried.size === 0) {
      this.#draining.delete(s);
      clearTimeout(s.drainTimer);
      s.end(REPLACED, 1000);
    } else if (!this.#draining.has(s)) {
      this.#draining.add(s);
      s.drainTimer = setTimeout(() => s.end(REPLACED, 1000), this.#graceMs).unref();
    }
  }
}
