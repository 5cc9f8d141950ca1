// Answers finished while no connection could take them, held in completion order up to a
// byte budget; past it the oldest are dropped.
import type { IdEntry } from '../dedupe/idstore.js';

export interface Held {
  /** Completion order: answers go out in ascending `seq`. */
  readonly seq: number;
  /** The answer's key in the id store. */
  readonly id: string;
  readonly frame: string;
  /** The key's store entry, when it has one (kept while the answer is held). */
  readonly entry?: IdEntry | undefined;
}

export class Outbox {
  readonly #maxBytes: number;
  #held: Held[] = [];
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#held.length;
  }

  /**
   * Holds an answer in `seq` order (a send that failed comes back with its original seq).
   * Returns what had to be dropped, oldest first, to stay within the budget.
   */
  hold(item: Held): Held[] {
    let i = this.#held.length;
    // Stryker disable next-line EqualityOperator: no two answers share a seq
    while (i > 0 && (this.#held[i - 1] as Held).seq > item.seq) i--;
    this.#held.splice(i, 0, item);
    this.#bytes += item.frame.length;
    const dropped: Held[] = [];
    while (this.#bytes > this.#maxBytes) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: the held answers are what the bytes count, so none held means no bytes
      if (this.#held.length === 0) break;
      const old = this.#held.shift() as Held;
      this.#bytes -= old.frame.length;
      dropped.push(old);
    }
    return dropped;
  }

  /** Everything held, in order, and empties the outbox. */
  takeAll(): Held[] {
    const all = this.#held;
    this.#held = [];
    this.#bytes = 0;
    return all;
  }
}
