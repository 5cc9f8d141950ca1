// Notifications as an async iterable: each one is acknowledged to its agent once the loop
// body that took it has finished (the iterator is asked for the next one, or left). At most
// `max` wait for the loop; past that, a notification is left unacknowledged, and its agent
// sends it again later.
import type { Notification } from './types.js';

interface Item {
  n: Notification;
  done(): void;
  fail(err: Error): void;
}

export class NotificationInbox implements AsyncIterable<Notification> {
  readonly #max: number;
  readonly #items: Item[] = [];
  #waiting: ((item: Item | null) => void) | null = null;
  #ended = false;
  readonly #onEnd: () => void;

  constructor(max: number, onEnd: () => void) {
    this.#max = max;
    this.#onEnd = onEnd;
  }

  /** The hub's handler: settles once the loop is done with `n` (rejects when too many wait, or the loop has ended). */
  take(n: Notification): Promise<void> {
    if (this.#ended) return Promise.reject(new Error('the notification loop has ended'));
    if (this.#items.length >= this.#max) return Promise.reject(new Error(`more than ${this.#max} notifications wait for the loop`));
    return new Promise<void>((done, fail) => {
      const item = { n, done, fail };
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = null;
        w(item);
      } else this.#items.push(item);
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Notification> {
    try {
      for (;;) {
        const item = this.#items.shift() ?? (await new Promise<Item | null>((r) => (this.#waiting = r)));
        if (item === null) return;
        yield item.n;
        item.done(); // the loop body finished with it (a loop left inside its body does not get here)
      }
    } finally {
      this.end();
    }
  }

  /** Ends the loop: what waits is left unacknowledged (its agents send it again). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
    this.#waiting?.(null);
    this.#waiting = null;
    for (const item of this.#items.splice(0)) item.fail(new Error('the notification loop has ended'));
  }
}
