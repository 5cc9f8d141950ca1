// Liveness of one connection: a ping every interval, and a verdict of "dead" once more than
// `maxMissed` pings in a row got no pong while nothing queued toward the peer drained (as
// NetBackup's keepAlive.maxPongMissAllowed). Frames
// from the peer do not count: a peer that sends but never reads must not keep a connection
// (and everything queued toward it) alive.

export interface HeartbeatTarget {
  ping(): void;
  /** Called once when the peer is judged dead. */
  dead(): void;
  /**
   * Bytes queued toward the peer and not yet written. A queue that shrinks means the peer
   * reads, slowly: its pong is behind what is queued, and it is not dead.
   */
  queued?(): number;
}

export class Heartbeat {
  readonly #intervalMs: number;
  readonly #target: HeartbeatTarget;
  readonly #maxMissed: number;
  #timer: NodeJS.Timeout | null = null;
  #alive = true;
  #missed = 0;
  #queued = 0;

  /** `maxMissed`: pings in a row that may go without a pong; one more and the peer is dead. */
  constructor(intervalMs: number, target: HeartbeatTarget, maxMissed = 0) {
    this.#intervalMs = intervalMs;
    this.#target = target;
    this.#maxMissed = maxMissed;
  }

  start(): void {
    this.stop();
    this.#alive = true;
    this.#missed = 0;
    this.#queued = 0;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Records a pong. */
  seen(): void {
    this.#alive = true;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const queued = this.#target.queued?.() ?? 0;
    const draining = queued > 0 && queued < this.#queued;
    this.#queued = queued;
    this.#missed = this.#alive || draining ? 0 : this.#missed + 1;
    if (this.#missed > this.#maxMissed) {
      this.stop();
      this.#target.dead();
      return;
    }
    this.#alive = false;
    this.#target.ping();
  }
}
