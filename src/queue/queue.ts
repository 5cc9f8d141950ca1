// The one bounded queue every REST call goes through: `concurrency` running at most,
// `maxPending` waiting at most, and nothing past that. Jobs belong to a lane (an endpoint
// group): a lane whose cloud reads too slowly is paused, and its jobs wait aside without
// holding a slot, while the other lanes' jobs go on.
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

/** The lane of jobs submitted without one. */
const ANY = '';

export class CommandQueue {
  readonly #q: PQueue;
  readonly #capacity: number;
  readonly #waiting = new Set<Job>();
  /** Lanes paused, each with the jobs that reached the front while it was. */
  readonly #paused = new Map<string, Job[]>();
  readonly #lane = new Map<Job, string>();
  #running = 0;

  constructor(opts: QueueOptions) {
    this.#q = new PQueue({ concurrency: opts.concurrency });
    this.#capacity = opts.concurrency + opts.maxPending;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot (in a paused lane or not). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Takes a job for `lane`, or returns false when every slot is busy and `maxPending` jobs
   * already wait. The count is kept here, synchronously, so a burst arriving in one tick is
   * bounded exactly.
   */
  submit(job: Job, lane = ANY): boolean {
    if (this.#running + this.#waiting.size >= this.#capacity) return false;
    this.#waiting.add(job);
    this.#lane.set(job, lane);
    this.#enqueue(job);
    return true;
  }

  /** Cancels every job still waiting with `error`; running ones go on. */
  cancelWaiting(error: AnsweredError): void {
    const jobs = [...this.#waiting];
    this.#waiting.clear();
    this.#lane.clear();
    for (const parked of this.#paused.values()) parked.length = 0;
    this.#q.clear();
    for (const job of jobs) job.cancel(error);
  }

  /** Starts no more jobs of `lane` (backpressure from its cloud); running ones go on, other lanes are not held up. */
  pause(lane = ANY): void {
    if (!this.#paused.has(lane)) this.#paused.set(lane, []);
  }

  /** Lets `lane`'s jobs start again, those that waited aside first. */
  resume(lane = ANY): void {
    const parked = this.#paused.get(lane);
    if (!parked) return;
    this.#paused.delete(lane);
    for (const job of parked) this.#enqueue(job);
  }

  /** Settles when nothing runs and nothing waits. */
  async onIdle(): Promise<void> {
    while (this.#running > 0 || this.#waiting.size > 0 || this.#q.size > 0 || this.#q.pending > 0) {
      await this.#q.onIdle();
      if (this.#waiting.size > 0 && this.#q.size === 0 && this.#q.pending === 0) {
        // Only jobs of paused lanes are left: wait for a resume or a cancel.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  #enqueue(job: Job): void {
    void this.#q.add(async () => {
      if (!this.#waiting.has(job)) return; // cancelled while waiting
      const parked = this.#paused.get(this.#lane.get(job) ?? ANY);
      if (parked) {
        parked.push(job);
        return;
      }
      this.#waiting.delete(job);
      this.#lane.delete(job);
      this.#running++;
      try {
        await job.run();
      } finally {
        this.#running--;
      }
    });
  }
}
