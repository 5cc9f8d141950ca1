// The health and metrics listener: GET /healthz, /readyz and /metrics on metrics.listen.
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListen } from '../config/files.js';
import type { Logger } from '../log/logger.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, or which connections are up. */
  reason: string;
}

export interface MetricsServerOptions {
  /** `host:port`; `[::1]:port` for IPv6. */
  listen: string;
  readiness(): Readiness;
  metrics(): Promise<string>;
  contentType: string;
  log: Logger;
}

export class MetricsServer {
  readonly #opts: MetricsServerOptions;
  #server: Server | null = null;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
  }

  /** The address it listens on, once started. */
  get address(): string {
    const a = this.#server?.address() as AddressInfo | null;
    return a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
  }

  async start(): Promise<void> {
    const { host, port } = parseListen(this.#opts.listen);
    const server = createServer((req, res) => void this.#serve(req.method ?? 'GET', req.url ?? '/', res));
    server.listen(port, host);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => {
        throw err;
      }),
    ]);
    this.#server = server;
    this.#opts.log.info({ listen: this.address }, 'health and metrics listening');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #serve(method: string, url: string, res: ServerResponse): Promise<void> {
    const path = url.split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const r = this.#opts.readiness();
      return json(r.ready ? 200 : 503, { ready: r.ready, reason: r.reason });
    }
    if (path === '/metrics') {
      try {
        const text = await this.#opts.metrics();
        res.writeHead(200, { 'content-type': this.#opts.contentType });
        res.end(method === 'HEAD' ? undefined : text);
      } catch (err) {
        this.#opts.log.error({ err }, 'collecting metrics failed');
        json(500, { error: 'collecting metrics failed' });
      }
      return;
    }
    json(404, { error: `no resource at ${path}; try /healthz, /readyz or /metrics` });
  }
}
