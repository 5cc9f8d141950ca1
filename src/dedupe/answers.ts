// Where the id store keeps its answers: as UTF-8 bytes in a few large slabs outside the JS heap,
// not as a string each inside it. A stored answer lives for minutes, so as a string it would be
// copied into the old generation and freed only by a full collection, and V8 sizes that
// generation at a multiple of what is live: every answer held would cost its length several
// times over in resident memory, and its copying would cost CPU. In a slab it costs its length
// once.
//
// Answers are written one after the other into the slab being filled. A slab is written again
// from its start once none of its answers is held. Answers of one group are mostly released
// oldest first, but another group's, or one pinned for delivery, may outlive their neighbours;
// when every slab allowed holds some, the one with the most room is compacted (its answers
// moved to its start: nothing outside this module holds their bytes, only the Slot that says
// where they are). So the slabs hold the live answers in the store's byte bound, rounded up to
// whole slabs, plus about an eighth. An answer larger than a quarter of a slab, or one that
// finds no slab with room even so (answers held for delivery beyond the bound), is kept as a
// string of its own; the store counts its bytes the same way.

/** An answer in a slab: `len` bytes from `off` (moved only by compaction). */
export class Slot {
  constructor(
    readonly slab: Slab,
    public off: number,
    readonly len: number,
  ) {}
}

/** A stored answer: in a slab, or a string of its own. */
export type Answer = Slot | string;

class Slab {
  readonly buf: Buffer;
  /** Bytes written from the start. */
  used = 0;
  /** Its answers not yet freed, and their bytes. */
  readonly slots = new Set<Slot>();
  liveBytes = 0;
  constructor(size: number) {
    // Its own allocation (not the shared pool), so that it is freed on its own.
    this.buf = Buffer.allocUnsafeSlow(size);
  }
}

const KiB = 1024;
/** Slab size: a sixteenth of the byte bound, within these limits. */
const SLAB_MIN = 64 * KiB;
const SLAB_MAX = 1024 * KiB;
/** Empty slabs kept for reuse; more are dropped, for the collector to return to the system. */
const KEEP_EMPTY = 2;

/** The text of a stored answer. */
export const textOf = (a: Answer): string => (typeof a === 'string' ? a : a.slab.buf.toString('utf8', a.off, a.off + a.len));

export class Answers {
  readonly #size: number;
  readonly #maxSlabs: number;
  /** Every slab allocated and not dropped. */
  readonly #slabs = new Set<Slab>();
  #current: Slab | null = null;
  readonly #empty: Slab[] = [];

  /** `maxBytes`: the id store's byte bound, which the answers it holds stay within (see ledger.ts). */
  constructor(maxBytes: number) {
    this.#size = Math.min(SLAB_MAX, Math.max(SLAB_MIN, Math.ceil(maxBytes / 16)));
    const base = Math.ceil(maxBytes / this.#size);
    // Spares of about an eighth: with no more live than the bound, some slab then has an eighth
    // of its room free, so that compaction always gains at least that much for what it moves.
    this.#maxSlabs = base + Math.max(2, Math.ceil(base / 7));
  }

  /** Bytes of slabs allocated (for tests and diagnostics). */
  get allocated(): number {
    return this.#slabs.size * this.#size;
  }

  /** Bytes of the answers held in slabs (for tests and diagnostics). */
  get inSlabs(): number {
    let n = 0;
    for (const s of this.#slabs) n += s.liveBytes;
    return n;
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
    const slot = new Slot(slab, slab.used, bytes);
    slab.buf.write(frame, slab.used, bytes, 'utf8');
    slab.used += bytes;
    slab.slots.add(slot);
    slab.liveBytes += bytes;
    return slot;
  }

  /** The answer is no longer held: its bytes may be written over. */
  free(a: Answer): void {
    if (typeof a === 'string') return;
    const slab = a.slab;
    if (!slab.slots.delete(a)) return;
    slab.liveBytes -= a.len;
    if (slab.slots.size > 0) return;
    slab.used = 0;
    // The slab being filled just starts again from its beginning; a full one waits for reuse.
    if (slab === this.#current) return;
    if (this.#empty.length < KEEP_EMPTY) this.#empty.push(slab);
    else this.#slabs.delete(slab);
  }

  /**
   * A slab with room for `bytes`: the one being filled, else an empty one, else a new one while
   * fewer than the bound allows exist, else the one with the most room, compacted; null when
   * none has room enough to be worth it. A full slab left behind is reused once its last answer
   * is freed, or compacted.
   */
  #room(bytes: number): Slab | null {
    const current = this.#current;
    if (current !== null && current.used + bytes <= this.#size) return current;
    let next = this.#empty.pop() ?? null;
    if (next === null && this.#slabs.size < this.#maxSlabs) {
      next = new Slab(this.#size);
      this.#slabs.add(next);
    }
    this.#current = next ?? this.#compact(bytes);
    return this.#current;
  }

  /** Moves the answers of the slab with the most room to its start; null when that room is less than `bytes` or an eighth of a slab. */
  #compact(bytes: number): Slab | null {
    let roomiest: Slab | null = null;
    for (const s of this.#slabs) if (roomiest === null || s.liveBytes < roomiest.liveBytes) roomiest = s;
    if (roomiest === null || this.#size - roomiest.liveBytes < Math.max(bytes, this.#size >> 3)) return null;
    let at = 0;
    for (const slot of [...roomiest.slots].sort((a, b) => a.off - b.off)) {
      // Stryker disable next-line ConditionalExpression: copying an answer onto itself changes nothing
      if (slot.off !== at) roomiest.buf.copy(roomiest.buf, at, slot.off, slot.off + slot.len);
      slot.off = at;
      at += slot.len;
    }
    roomiest.used = at;
    return roomiest;
  }
}
