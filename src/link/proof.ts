// Proof that the cloud has read everything written so far: a ping goes out after it (at most
// one every PROOF_MS), and its pong, which the cloud can only send after reading what came
// before, is the proof. Heartbeat pongs do not count: a proof ping carries a token of its own.

/** Proof that the cloud read what was written is asked for at most this often (a ping, answered by a pong). */
export const PROOF_MS = 100;

export class ReadProof {
  readonly #ping: (token: Buffer) => void;
  readonly #ready: () => boolean;
  /** Callbacks waiting for proof that the cloud read what was written before them, and those whose proof ping is out. */
  #toProve: (() => void)[] = [];
  #proving: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  /** The payload of the proof ping out (a pong echoes it). */
  #token: Buffer | null = null;
  #count = 0;

  constructor(ping: (token: Buffer) => void, ready: () => boolean) {
    this.#ping = ping;
    this.#ready = ready;
  }

  /** Calls `read` once the cloud has read everything written so far; not called if clear() comes first. */
  await(read: () => void): void {
    this.#toProve.push(read);
    this.#timer ??= setTimeout(() => this.#send(), PROOF_MS);
  }

  /** A pong: the proof, when it echoes the proof ping's token. */
  pong(data: Buffer): void {
    if (this.#token !== null && data.equals(this.#token)) this.#proven();
  }

  /** The connection is gone: nothing waiting is called. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#toProve = [];
    this.#proving = [];
  }

  #send(): void {
    this.#timer = null;
    if (this.#proving.length > 0 || this.#toProve.length === 0 || !this.#ready()) return;
    this.#proving = this.#toProve;
    this.#toProve = [];
    this.#token = Buffer.from(`read-${++this.#count}`);
    this.#ping(this.#token);
  }

  #proven(): void {
    const done = this.#proving;
    this.#proving = [];
    this.#token = null;
    for (const read of done) read();
    if (this.#toProve.length > 0) this.#timer ??= setTimeout(() => this.#send(), PROOF_MS);
  }
}
