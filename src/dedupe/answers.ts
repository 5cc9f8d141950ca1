// Where the id store keeps its answers: as UTF-8 bytes in a few large slabs outside the JS heap,
// not as a string each inside it. A stored answer lives for minutes, so as a string it would be
// copied into the old generation and freed only by a full collection, and V8 sizes that
// generation at a multiple of what is live: every answer held would cost its length several
// times over in resident memory, and its copying would cost CPU. In a slab it costs its length
// once, and the slab is written again as soon as none of its answers is held.
//
// Answers are mostly released oldest first, so slabs empty in the order they were filled. An
// answer larger than a quarter of a slab, or one that finds every slab still holding something
// (answers pinned for delivery), is kept as its own string instead: the store's byte bound is
// counted the same way for both, so the slabs never hold more than that bound and a few spares.

/** An answer in a slab: `len` bytes from `off`. */
export class Slot {
  constructor(
    readonly slab: Slab,
    readonly off: number,
    readonly len: number,
  ) {}
}

/** A stored answer: in a slab, or a string of its own. */
export type Answer = Slot | string;

class Slab {
  readonly buf: Buffer;
  /** Bytes written from the start. */
  used = 0;
  /** Answers in it not yet freed. */
  live = 0;
  constructor(size: number) {
    // Its own allocation (not the shared pool), so that it is freed on its own.
    this.buf = Buffer.allocUnsafeSlow(size);
  }
}

const KiB = 1024;
/** Slab size: a sixteenth of the byte bound, within these limits. */
const SLAB_MIN = 64 * KiB;
const SLAB_MAX = 1024 * KiB;
/** Slabs beyond the byte bound, for the ones that are partly freed. */
const SPARE = 2;
/** Empty slabs kept for reuse; more are dropped, for the collector to return to the system. */
const KEEP_EMPTY = 2;

/** The text of a stored answer. */
export const textOf = (a: Answer): string => (typeof a === 'string' ? a : a.slab.buf.toString('utf8', a.off, a.off + a.len));

export class Answers {
  readonly #size: number;
  readonly #maxSlabs: number;
  #slabs = 0;
  #current: Slab | null = null;
  readonly #empty: Slab[] = [];

  /** `maxBytes`: the id store's byte bound, which the answers it holds stay within (see ledger.ts). */
  constructor(maxBytes: number) {
    this.#size = Math.min(SLAB_MAX, Math.max(SLAB_MIN, Math.ceil(maxBytes / 16)));
    this.#maxSlabs = Math.ceil(maxBytes / this.#size) + SPARE;
  }

  /** Bytes of slabs allocated (for tests and diagnostics). */
  get allocated(): number {
    return this.#slabs * this.#size;
  }

  /** Stores `frame`, whose UTF-8 length is `bytes`. */
  put(frame: string, bytes: number): Answer {
    const slab = bytes <= this.#size >> 2 ? this.#room(bytes) : null;
    if (slab === null) {
      // Reading a character makes V8 flatten a string built from pieces, so a string kept for
      // minutes costs its own length rather than a tree of fragments.
      frame.charCodeAt(0);
      return frame;
    }
    const off = slab.used;
    slab.buf.write(frame, off, bytes, 'utf8');
    slab.used += bytes;
    slab.live++;
    return new Slot(slab, off, bytes);
  }

  /** The answer is no longer held: its slab is written again once none of its answers is. */
  free(a: Answer): void {
    if (typeof a === 'string') return;
    const slab = a.slab;
    if (--slab.live > 0) return;
    slab.used = 0;
    // The slab being filled just starts again from its beginning; a full one waits for reuse.
    if (slab === this.#current) return;
    if (this.#empty.length < KEEP_EMPTY) this.#empty.push(slab);
    else this.#slabs--;
  }

  /**
   * A slab with room for `bytes`: the one being filled, else an empty one, else a new one while
   * fewer than the bound allows exist; null when all of those still hold answers. A full slab
   * left behind is reused once its last answer is freed.
   */
  #room(bytes: number): Slab | null {
    const current = this.#current;
    if (current !== null && current.used + bytes <= this.#size) return current;
    let next = this.#empty.pop() ?? null;
    if (next === null && this.#slabs < this.#maxSlabs) {
      next = new Slab(this.#size);
      this.#slabs++;
    }
    this.#current = next;
    return next;
  }
}
