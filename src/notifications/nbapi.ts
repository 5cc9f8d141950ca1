// The polling client: its own small undici Pool to the REST API (never a slot of the command
// queue), the API key in Authorization, the API version found once by stepping down on 406,
// and the server's pace respected (503: back off; 429: Retry-After).
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import { PollError } from '../errors.js';
import { retryAfterMs } from '../retry.js';
import type { Logger } from '../log/logger.js';

/**
 * API versions asked for, newest first: 14.0 is NetBackup 11.2, 13.0 is 11.0, 12.0 is 10.5,
 * 10.0 is 10.3. Below 8.0 the catalog images API has another shape.
 */
export const API_VERSIONS = ['14.0', '13.0', '12.0', '11.0', '10.0', '9.0', '8.0'];

/** The oldest version each API is polled with: the jobs API pages by cursor from 9.0 on. */
export const MIN_VERSION: Readonly<Record<string, string>> = { '/netbackup/admin/jobs': '9.0', '/netbackup/catalog/images': '8.0' };

/** Largest poll answer read: a page of 100 jobs or images is far below it. */
export const MAX_POLL_BYTES = 32 * 1024 * 1024;

const atLeast = (version: string, floor: string | undefined) => floor === undefined || Number(version) >= Number(floor);

export const mediaType = (version: string) => `application/vnd.netbackup+json;version=${version}`;

export { PollError };

export interface NbApiOptions {
  baseUrl: string;
  ca: string | null;
  apiKey: string;
  timeoutMs: number;
  log: Logger;
}

/** The body as text, failing the poll once it grows past MAX_POLL_BYTES. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_POLL_BYTES) {
      body.destroy();
      throw new PollError(`${path}: the answer is larger than ${MAX_POLL_BYTES} bytes`, 0);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export class NbApi {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  #version: string | null = null;

  constructor(opts: NbApiOptions) {
    const base = new URL(opts.baseUrl);
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#pool = new Pool(base.origin, {
      connections: 2,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: opts.ca ? { ca: [...rootCertificates, opts.ca] } : {},
    });
    this.#apiKey = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs;
    this.#log = opts.log;
  }

  /** The API version in use, once found. */
  get version(): string | null {
    return this.#version;
  }

  /** GETs `path` with `query` (names and values percent-encoded) and parses the JSON answer. */
  async get(path: string, query: Record<string, string | number>): Promise<unknown> {
    const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const target = `${this.#basePath}${path}${qs ? `?${qs}` : ''}`;
    const floor = MIN_VERSION[path];
    if (this.#version && !atLeast(this.#version, floor)) {
      throw new PollError(`${path}: the server offers API ${this.#version}; polling this API needs ${floor} or later`, 406);
    }
    const versions = this.#version ? [this.#version] : API_VERSIONS.filter((v) => atLeast(v, floor));
    for (const version of versions) {
      const res = await this.#pool.request({
        path: target,
        method: 'GET',
        headers: { accept: mediaType(version), authorization: this.#apiKey },
        signal: AbortSignal.timeout(this.#timeoutMs),
      }).catch((err: unknown) => {
        throw new PollError(`${path}: ${(err as { code?: string }).code ?? (err as Error).message}`, 0);
      });
      const text = await readCapped(res.body, path);
      if (res.statusCode === 406 && !this.#version) {
        this.#log.debug({ version }, 'API version not offered; stepping down');
        continue;
      }
      if (res.statusCode === 429 || res.statusCode === 503) {
        throw new PollError(`${path}: ${res.statusCode}`, res.statusCode, retryAfterMs(res.headers['retry-after']));
      }
      if (res.statusCode !== 200) throw new PollError(`${path}: ${res.statusCode} ${text.slice(0, 200)}`, res.statusCode);
      if (!this.#version) {
        this.#version = version;
        this.#log.info({ version }, 'NetBackup API version found');
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new PollError(`${path}: the answer is not JSON`, res.statusCode);
      }
    }
    throw new PollError(`${path}: no API version offered (asked ${versions.join(', ')}; polling this API needs ${floor ?? API_VERSIONS.at(-1)} or later)`, 406);
  }

  /** Closes the connections, aborting a poll in flight (it fails, and is done again after a restart). */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
