// The one bounded queue every REST call goes through: `concurrency` running at most,
// `maxPending` waiting at most, and nothing past that.
import PQueue from 'p-queue';
import type { AnsweredError } from '../errors.js';

/** A unit of work that always settles by itself: it answers its request whether it runs or is cancelled. */
export interface Job {
  /** Runs the call and delivers its answer; never rejects. */
  run(): Promise<void>;
  /** Delivers `error` instead of running. */
  cancel(error: AnsweredError): void;
}

export interface QueueOptions {
  concurrency: number;
  maxPending: number;
}

export class CommandQueue {
  readonly #q: PQueue;
  readonly #capacity: number;
  readonly #waiting = new Set<Job>();
  #running = 0;

  constructor(opts: QueueOptions) {
    this.#q = new PQueue({ concurrency: opts.concurrency });
    this.#capacity = opts.concurrency + opts.maxPending;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Takes a job, or returns false when every slot is busy and `maxPending` jobs already wait.
   * The count is kept here, synchronously, so a burst arriving in one tick is bounded exactly.
   */
  submit(job: Job): boolean {
    if (this.#running + this.#waiting.size >= this.#capacity) return false;
    this.#waiting.add(job);
    void this.#q.add(async () => {
      if (!this.#waiting.delete(job)) return; // cancelled while waiting
      this.#running++;
      try {
        await job.run();
      } finally {
        this.#running--;
      }
    });
    return true;
  }

  /** Cancels every job still waiting with `error`; running ones go on. */
  cancelWaiting(error: AnsweredError): void {
    const jobs = [...this.#waiting];
    this.#waiting.clear();
    this.#q.clear();
    for (const job of jobs) job.cancel(error);
  }

  /** Stops starting jobs (backpressure); running ones go on. */
  pause(): void {
    this.#q.pause();
  }

  resume(): void {
    this.#q.start();
  }

  /** Settles when nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    return this.#q.onIdle();
  }
}
