// Agent tokens: 256 random bits each, named by the agent they belong to, and kept only as
// scrypt hashes in a store (the application's, or a JSON file). A token reads
// `<agent id, base64url>.<secret, base64url>`, so a CONNECT costs one hash, never a scan.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { replaceFile } from '../dedupe/journal.js';

export interface StoredToken {
  /** scrypt of the secret, hex. */
  hash: string;
  salt: string;
  /** scrypt's cost N (16384, Node's default, when absent). */
  n?: number;
  issuedAt: string;
  group: string;
  priority: number;
}

/** Where hashed tokens live: one per agent. */
export interface TokenStore {
  get(agentId: string): Promise<StoredToken | undefined>;
  set(agentId: string, token: StoredToken): Promise<void>;
  delete(agentId: string): Promise<boolean>;
}

/**
 * scrypt's cost for new tokens. The secret is 256 random bits, so no cost makes guessing it
 * harder; a low one keeps a flood of CONNECTs naming a real agent with wrong secrets (its id is
 * readable in any token) from tying up the thread pool: about 2 ms a check.
 */
const COST = 1024;
/** Checks run at once, at most; the others wait their turn, and past MAX_WAITING a CONNECT is refused at once. */
const MAX_CHECKS = 2;
const MAX_WAITING = 256;
let checking = 0;
const waiting: (() => void)[] = [];

const hashOf = (secret: Buffer, salt: Buffer, N = COST) =>
  new Promise<Buffer>((resolve, reject) => scrypt(secret, salt, 32, { N }, (err, key) => (err ? reject(err) : resolve(key))));

/** `f` once fewer than MAX_CHECKS checks run, or null when too many wait already. */
async function bounded<T>(f: () => Promise<T>): Promise<T | null> {
  if (checking >= MAX_CHECKS) {
    if (waiting.length >= MAX_WAITING) return null;
    await new Promise<void>((r) => waiting.push(r)); // a finishing check hands its place over
  } else checking++;
  try {
    return await f();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else checking--;
  }
}

/** A fresh token for `agentId`, and what the store keeps of it. */
export async function newToken(agentId: string, group: string, priority: number): Promise<{ token: string; stored: StoredToken }> {
  const secret = randomBytes(32);
  const salt = randomBytes(16);
  const hash = await hashOf(secret, salt);
  const token = `${Buffer.from(agentId, 'utf8').toString('base64url')}.${secret.toString('base64url')}`;
  return { token, stored: { hash: hash.toString('hex'), salt: salt.toString('hex'), n: COST, issuedAt: new Date().toISOString(), group, priority } };
}

/** One endpoint as NetBackup's endpoint details list it (and the bridge's cloud.endpointsFile reads). */
export interface EndpointDetails {
  url: string;
  token: string;
  groupId: string;
  priority: number;
  hostName: string;
}

/** A fresh token for an agent (replacing any earlier one), kept hashed in `store`: its endpoint details at `url`. */
export async function issue(store: TokenStore, url: string, { agentId, group = 'default', priority = 0 }: { agentId: string; group?: string; priority?: number }): Promise<EndpointDetails> {
  const { token, stored } = await newToken(agentId, group, priority);
  await store.set(agentId, stored);
  return { url, token, groupId: group, priority, hostName: new URL(url).hostname.replace(/^\[|\]$/g, '') };
}

/** The agent a token proves, or null (unknown agent, revoked, malformed, or not its secret). */
export async function verifyToken(store: TokenStore, token: string): Promise<string | null> {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 2048) return null;
  const agentId = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
  const secret = Buffer.from(token.slice(dot + 1), 'base64url');
  if (secret.length !== 32) return null;
  const stored = await store.get(agentId);
  if (!stored) return null;
  const expected = Buffer.from(stored.hash, 'hex');
  const actual = await bounded(() => hashOf(secret, Buffer.from(stored.salt, 'hex'), stored.n ?? 16384));
  return actual !== null && expected.length === actual.length && timingSafeEqual(expected, actual) ? agentId : null;
}

/** Tokens in memory (lost with the process). */
export class MemoryTokenStore implements TokenStore {
  protected readonly tokens = new Map<string, StoredToken>();
  async get(agentId: string): Promise<StoredToken | undefined> {
    return this.tokens.get(agentId);
  }
  async set(agentId: string, token: StoredToken): Promise<void> {
    this.tokens.set(agentId, token);
  }
  async delete(agentId: string): Promise<boolean> {
    return this.tokens.delete(agentId);
  }
}

/** Tokens in a JSON file (0600), replaced whole and durably on every change. */
export class FileTokenStore extends MemoryTokenStore {
  readonly #path: string;
  #loaded: Promise<void> | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    super();
    this.#path = path;
  }

  override async get(agentId: string): Promise<StoredToken | undefined> {
    await this.#load();
    return super.get(agentId);
  }

  override async set(agentId: string, token: StoredToken): Promise<void> {
    await this.#load();
    await super.set(agentId, token);
    await this.#save();
  }

  override async delete(agentId: string): Promise<boolean> {
    await this.#load();
    const had = await super.delete(agentId);
    if (had) await this.#save();
    return had;
  }

  #load(): Promise<void> {
    this.#loaded ??= readFile(this.#path, 'utf8').then(
      (text) => {
        for (const [id, t] of Object.entries(JSON.parse(text) as Record<string, StoredToken>)) this.tokens.set(id, t);
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
    return this.#loaded;
  }

  #save(): Promise<void> {
    const text = `${JSON.stringify(Object.fromEntries(this.tokens), null, 2)}\n`;
    this.#writing = this.#writing.then(() => replaceFile(this.#path, text));
    return this.#writing;
  }
}
