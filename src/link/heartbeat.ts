// Liveness of one connection: a ping every interval, and a verdict of "dead" when nothing
// (no pong, no message) came back since the previous ping.

export interface HeartbeatTarget {
  ping(): void;
  /** Called once when the peer is judged dead. */
  dead(): void;
}

export class Heartbeat {
  readonly #intervalMs: number;
  readonly #target: HeartbeatTarget;
  #timer: NodeJS.Timeout | null = null;
  #alive = true;

  constructor(intervalMs: number, target: HeartbeatTarget) {
    this.#intervalMs = intervalMs;
    this.#target = target;
  }

  start(): void {
    this.stop();
    this.#alive = true;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Records a sign of life: a pong or any message. */
  seen(): void {
    this.#alive = true;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    if (!this.#alive) {
      this.stop();
      this.#target.dead();
      return;
    }
    this.#alive = false;
    this.#target.ping();
  }
}
