// The polling client: a REST client of its own to the REST API (never a slot of the command
// queue; the same CA, time limit and error mapping as the commands' calls), the API key in
// Authorization, the API version found once by stepping down on 406, and the server's pace
// respected (503: back off; 429: Retry-After).
import { AnsweredError, failureOf, PollError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { RestClient, type HttpResult } from '../rest/client.js';
import { retryAfterMs } from '../retry.js';

/**
 * API versions asked for, newest first: 14.0 is NetBackup 11.2, 13.0 is 11.0, 12.0 is 10.5,
 * 10.0 is 10.3. Below 8.0 the catalog images API has another shape.
 */
// Stryker disable next-line all: a module-level definition, which mutation testing does not switch within a process; test/integration/nbapi.test.ts pins it
export const API_VERSIONS = ['14.0', '13.0', '12.0', '11.0', '10.0', '9.0', '8.0'];

/** The oldest version each API is polled with: the jobs API pages by cursor from 9.0 on. */
// Stryker disable next-line all: a module-level definition, which mutation testing does not switch within a process; test/integration/nbapi.test.ts pins it
export const MIN_VERSION: Readonly<Record<string, string>> = { '/netbackup/admin/jobs': '9.0', '/netbackup/catalog/images': '8.0' };

/** Largest poll answer read: a page of 100 jobs or images is far below it. */
// Stryker disable next-line all: a module-level definition, which mutation testing does not switch within a process; test/integration/nbapi.test.ts pins it
export const MAX_POLL_BYTES = 32 * 1024 * 1024;

// Stryker disable next-line all: a module-level definition, which mutation testing does not switch within a process; test/integration/nbapi.test.ts pins it
const atLeast = (version: string, floor: string | undefined) => floor === undefined || Number(version) >= Number(floor);

// Stryker disable next-line all: a module-level definition, which mutation testing does not switch within a process; test/integration/nbapi.test.ts pins it
export const mediaType = (version: string) => `application/vnd.netbackup+json;version=${version}`;

export { PollError };

export interface NbApiOptions {
  baseUrl: string;
  ca: string | null;
  apiKey: string;
  timeoutMs: number;
  log: Logger;
}

/** A failed call as the poll's failure: the cause's code (ECONNREFUSED, a TLS error) when it has one. */
function pollFailure(path: string, err: unknown): PollError {
  if (err instanceof AnsweredError && err.code === 'NBW_ERR_REST_RESPONSE_TOO_LARGE') return new PollError(`${path}: the answer is larger than ${MAX_POLL_BYTES} bytes`, 0);
  const what = failureOf(err);
  return new PollError(`${path}: ${what}`, 0);
}

export class NbApi {
  readonly #client: RestClient;
  readonly #apiKey: string;
  readonly #log: Logger;
  #version: string | null = null;

  constructor(opts: NbApiOptions) {
    this.#client = new RestClient({ baseUrl: opts.baseUrl, ca: opts.ca, timeoutMs: opts.timeoutMs, maxResponseBytes: MAX_POLL_BYTES, connections: 2 });
    this.#apiKey = opts.apiKey;
    this.#log = opts.log;
  }

  /** The API version in use, once found. */
  get version(): string | null {
    return this.#version;
  }

  /** GETs `path` with `query` (names and values percent-encoded) and parses the JSON answer. */
  async get(path: string, query: Record<string, string | number>): Promise<unknown> {
    const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const target = `${path}${qs ? `?${qs}` : ''}`;
    const floor = MIN_VERSION[path];
    if (this.#version && !atLeast(this.#version, floor)) {
      throw new PollError(`${path}: the server offers API ${this.#version}; polling this API needs ${floor} or later`, 406);
    }
    const versions = this.#version ? [this.#version] : API_VERSIONS.filter((v) => atLeast(v, floor));
    for (const version of versions) {
      let res: HttpResult;
      try {
        res = await this.#client.call({ method: 'GET', path: target, headers: { accept: mediaType(version), authorization: this.#apiKey } });
      } catch (err) {
        throw pollFailure(path, err);
      }
      // A byte that is not UTF-8 (a Latin-1 client name) becomes U+FFFD: one odd name must not stop every poll.
      const text = res.body.toString('utf8');
      if (res.status === 406 && !this.#version) {
        this.#log.debug({ version }, 'API version not offered; stepping down');
        continue;
      }
      if (res.status === 429 || res.status === 503) {
        throw new PollError(`${path}: ${res.status}`, res.status, retryAfterMs(res.headers['retry-after']));
      }
      if (res.status !== 200) throw new PollError(`${path}: ${res.status} ${text.slice(0, 200)}`, res.status);
      // Stryker disable next-line ConditionalExpression: only decides whether a log line is written (the version found is the same)
      if (!this.#version) {
        this.#version = version;
        this.#log.info({ version }, 'NetBackup API version found');
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new PollError(`${path}: the answer is not JSON`, res.status);
      }
    }
    throw new PollError(`${path}: no API version offered (asked ${versions.join(', ')}; polling this API needs ${floor ?? API_VERSIONS.at(-1)} or later)`, 406);
  }

  /** Closes the connections, aborting a poll in flight (it fails, and is done again after a restart). */
  async close(): Promise<void> {
    // Stryker disable next-line StringLiteral: the poll fails either way, and its failure at stop is not logged
    this.#client.abortAll(new AnsweredError('NBW_ERR_SHUTTING_DOWN', 'the bridge is stopping'));
    await this.#client.destroy();
  }
}
