// The REST side: one keep-alive undici Pool to rest.baseUrl, a time limit per call, a cap on
// the response size, and every failure mapped to the status the bridge answers.
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import { AnsweredError } from '../errors.js';
import type { HttpMethod } from '../protocol/envelope.js';
import type { CommandResponsePayload } from '../protocol/envelope.js';
import { encodeBody } from './body.js';
import { responseHeaders } from './headers.js';

/** One call, as the policy and the header filter left it. */
export interface RestCall {
  method: HttpMethod;
  /** Origin-relative path and query, already checked and percent-encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

/** What the bridge can do with a REST API; the RestClient is the real one. */
export interface RestCaller {
  call(req: RestCall): Promise<CommandResponsePayload>;
}

export interface RestClientOptions {
  baseUrl: string;
  /** Extra trusted CA (PEM), added to the system roots. */
  ca: string | null;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Connections kept to the REST API; the queue's concurrency. */
  connections: number;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function isTlsFailure(code: string): boolean {
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code);
}

/** Maps an error from a call to the answer the bridge gives. */
export function mapRestError(err: unknown, origin: string, timeoutMs: number): AnsweredError {
  if (err instanceof AnsweredError) return err;
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : 'UNKNOWN';
  if (TIMEOUTS.has(code)) return new AnsweredError('NBW_ERR_REST_TIMEOUT', `REST call timed out after ${timeoutMs} ms`);
  if (UNREACHABLE.has(code)) return new AnsweredError('NBW_ERR_REST_UNREACHABLE', `REST API unreachable at ${origin}: ${code}`, { cause: err });
  if (isTlsFailure(code)) {
    return new AnsweredError(
      'NBW_ERR_REST_UNREACHABLE',
      `REST API at ${origin} failed TLS verification (${code}); trust its CA with rest.caFile`,
      { cause: err },
    );
  }
  return new AnsweredError('NBW_ERR_REST_FAILED', `REST call failed: ${code}`, { cause: err });
}

/** The undici-backed RestCaller. */
export class RestClient implements RestCaller {
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #active = new Set<AbortController>();

  constructor(opts: RestClientOptions) {
    const base = new URL(opts.baseUrl);
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs;
    this.#maxBytes = opts.maxResponseBytes;
    this.#pool = new Pool(this.#origin, {
      connections: opts.connections,
      pipelining: 1,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: opts.ca ? { ca: [...rootCertificates, opts.ca] } : {},
    });
  }

  /** Origin of the REST API, for messages. */
  get origin(): string {
    return this.#origin;
  }

  async call(req: RestCall): Promise<CommandResponsePayload> {
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new AnsweredError('NBW_ERR_REST_TIMEOUT', `REST call timed out after ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    this.#active.add(ac);
    try {
      const withBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD';
      const res = await this.#pool.request({
        path: this.#basePath + req.path,
        method: req.method,
        headers: req.headers,
        body: withBody ? req.body : null,
        signal: ac.signal,
      });
      const declared = Number(res.headers['content-length']);
      if (declared > this.#maxBytes) {
        res.body.destroy();
        throw this.#tooLarge();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > this.#maxBytes) {
          res.body.destroy();
          throw this.#tooLarge();
        }
        chunks.push(chunk as Buffer);
      }
      const buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const ct = res.headers['content-type'];
      const ce = res.headers['content-encoding'];
      const encoded = encodeBody(buf, Array.isArray(ct) ? ct[0] : ct, Array.isArray(ce) ? ce.join(',') : ce);
      return { headers: responseHeaders(res.headers), responseCode: res.statusCode, ...encoded };
    } catch (err) {
      throw mapRestError(ac.signal.aborted ? ac.signal.reason : err, this.#origin, this.#timeoutMs);
    } finally {
      clearTimeout(timer);
      this.#active.delete(ac);
    }
  }

  /** Aborts every call still running; each is answered with `reason`. */
  abortAll(reason: AnsweredError): void {
    for (const ac of this.#active) ac.abort(reason);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  #tooLarge(): AnsweredError {
    return new AnsweredError(
      'NBW_ERR_REST_RESPONSE_TOO_LARGE',
      `REST response is larger than rest.maxResponseBytes (${this.#maxBytes} bytes)`,
    );
  }
}
