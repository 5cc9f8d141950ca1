// Notifications to the application's event streams (server-sent events): each notification
// goes to one stream reading its agent (or every agent), round robin, under a delivery id of
// its own, and is done when the application POSTs that id's ack. A stream that goes away,
// an ack that does not come within ackTimeoutMs, or no stream at all leaves the notification
// unacknowledged: the agent sends it again (with Redis, it waits on the shared stream).
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Notification } from '../cloud/index.js';

/** Deliveries waiting for their ack, per stream, at most. */
const MAX_UNACKED = 1000;

interface Stream {
  readonly res: ServerResponse;
  readonly agentId: string | null;
  readonly unacked: Set<string>;
}

interface Delivery {
  readonly stream: Stream;
  readonly timer: NodeJS.Timeout;
  done(ok: boolean, why?: string): void;
}

export class NotificationFeed {
  readonly #ackTimeoutMs: number;
  readonly #streams: Stream[] = [];
  readonly #deliveries = new Map<string, Delivery>();
  readonly #keepAlive: NodeJS.Timeout;
  readonly #reading: (reading: boolean) => void;
  #next = 0;

  /** `reading` is told when the first stream opens (true) and the last one closes (false). */
  constructor(ackTimeoutMs: number, reading: (reading: boolean) => void, keepAliveMs = 15_000) {
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#reading = reading;
    this.#keepAlive = setInterval(() => {
      for (const s of this.#streams) s.res.write(': keep-alive\n\n');
    }, keepAliveMs).unref();
  }

  get streams(): number {
    return this.#streams.length;
  }

  /** Serves `res` as an event stream of `agentId`'s notifications (every agent's with null). */
  open(res: ServerResponse, agentId: string | null): void {
    const stream: Stream = { res, agentId, unacked: new Set() };
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    this.#streams.push(stream);
    if (this.#streams.length === 1) this.#reading(true);
    res.on('close', () => {
      this.#streams.splice(this.#streams.indexOf(stream), 1);
      if (this.#streams.length === 0) this.#reading(false);
      for (const id of stream.unacked) this.#deliveries.get(id)?.done(false, 'the event stream it was sent on closed before its ack');
    });
  }

  /** The hub's notification handler: settles once the application acked it (rejects otherwise). */
  deliver(n: Notification): Promise<void> {
    const readers = this.#streams.filter((s) => (s.agentId === null || s.agentId === n.agentId) && s.unacked.size < MAX_UNACKED);
    if (readers.length === 0) return Promise.reject(new Error(`no event stream reads agent ${n.agentId}'s notifications (GET /agents/{id}/notifications or GET /notifications)`));
    const stream = readers[this.#next++ % readers.length] as Stream;
    const id = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => delivery.done(false, `not acknowledged within ${this.#ackTimeoutMs} ms`), this.#ackTimeoutMs);
      const delivery: Delivery = {
        stream,
        timer,
        done: (ok, why) => {
          clearTimeout(timer);
          this.#deliveries.delete(id);
          stream.unacked.delete(id);
          if (ok) resolve();
          else reject(new Error(why));
        },
      };
      this.#deliveries.set(id, delivery);
      stream.unacked.add(id);
      stream.res.write(`id: ${id}\nevent: notification\ndata: ${JSON.stringify({ ...n, ack: `/notifications/${id}/ack` })}\n\n`);
    });
  }

  /** The application's ack of a delivery; false when no delivery has that id (acked, expired or unknown). */
  ack(id: string): boolean {
    const d = this.#deliveries.get(id);
    d?.done(true);
    return d !== undefined;
  }

  close(): void {
    clearInterval(this.#keepAlive);
    for (const s of [...this.#streams]) s.res.end();
  }
}
