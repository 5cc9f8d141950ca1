// Notification ids already handled, per agent, the newest `max` of them: a resend whose
// acknowledgement was lost is acknowledged again without reaching the application twice.
export class HandledIds {
  readonly #max: number;
  readonly #ids = new Set<string>();

  constructor(max: number) {
    this.#max = max;
  }

  has(agentId: string, id: string): boolean {
    return this.#ids.has(pairKey(agentId, id));
  }

  add(agentId: string, id: string): void {
    const key = pairKey(agentId, id);
    this.#ids.delete(key);
    this.#ids.add(key);
    if (this.#ids.size > this.#max) this.#ids.delete(this.#ids.values().next().value as string);
  }
}

/** One key for an agent and an id, which no other pair shares (whatever characters either holds). */
export const pairKey = (agentId: string, id: string): string => JSON.stringify([agentId, id]);
