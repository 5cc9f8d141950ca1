// A local REST API on loopback: a recording HTTP server, and a small simulation of the
// NetBackup REST API (vmservers, jobs) behind it. The demo and the tests both use it.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NbSim, type RecordedRequest } from './nb-sim.js';

/** One request as the REST server received it. */
export type { RecordedRequest };

export type RestHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export const NB_MEDIA_TYPE = 'application/vnd.netbackup+json;version=1.0';

/** Writes one JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': NB_MEDIA_TYPE, ...headers });
  res.end(text);
}

/** An HTTP server on 127.0.0.1 that records every request and counts calls in flight. */
export class RestServer {
  handler: RestHandler;
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  #server: Server | null = null;
  #url = '';

  constructor(handler: RestHandler) {
    this.handler = handler;
  }

  get url(): string {
    return this.#url;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.#serve(req, res));
    server.keepAliveTimeout = 30_000;
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, text: body.toString('utf8') };
    this.requests.push(record);
    try {
      await this.handler(record, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { errorCode: 500, errorMessage: String(err) });
      else res.end();
    }
  }
}

interface VmServer {
  serverName: string;
  vmType: string;
  userId: string;
  password: string;
  port: number;
}

const nbError = (res: ServerResponse, status: number, errorCode: number, errorMessage: string) =>
  sendJson(res, status, { errorCode, errorMessage, details: {} });

/**
 * A small simulation of the NetBackup REST API: `GET /netbackup/ping` without login; every
 * other route needs an Authorization header. vmservers can be listed, read, added, changed and
 * removed; jobs and images come from `sim` (see NbSim), with their query syntax and paging.
 */
export function netbackupHandler(sim: NbSim = seededSim()): RestHandler {
  const vmservers = new Map<string, VmServer>([
    ['vCenter2.domain.com', { serverName: 'vCenter2.domain.com', vmType: 'VMWARE_VIRTUAL_CENTER_SERVER', userId: 'root', password: '', port: 0 }],
  ]);
  const VM = '/netbackup/config/servers/vmservers';

  return (req, res) => {
    const url = new URL(req.url, 'http://rest.invalid');
    const path = decodeURIComponent(url.pathname);
    if (path === '/netbackup/ping') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'pong');
      return;
    }
    if (!req.headers.authorization) return nbError(res, 401, 8000, 'Authorization header is missing or the token is invalid');
    if (req.body.length > 0 && !String(req.headers['content-type'] ?? '').startsWith('application/vnd.netbackup+json')) {
      return nbError(res, 415, 8415, 'Unsupported Content-Type; use application/vnd.netbackup+json;version=N.0');
    }

    if (path === VM) {
      if (req.method === 'GET') return sendJson(res, 200, { data: [...vmservers.values()].map((v) => ({ ...v, password: '' })) });
      if (req.method === 'POST') {
        let v: Partial<VmServer>;
        try {
          v = JSON.parse(req.text) as Partial<VmServer>;
        } catch {
          return nbError(res, 400, 8400, 'Request body is not valid JSON');
        }
        if (!v.serverName) return nbError(res, 400, 8400, 'serverName is required');
        if (vmservers.has(v.serverName)) return nbError(res, 409, 9011, `Server ${v.serverName} already exists`);
        vmservers.set(v.serverName, { vmType: 'VMWARE_VIRTUAL_CENTER_SERVER', userId: '', password: '', port: 0, ...v } as VmServer);
        res.writeHead(201, { 'content-type': NB_MEDIA_TYPE, location: `${VM}/${encodeURIComponent(v.serverName)}` });
        res.end();
        return;
      }
    }
    if (path.startsWith(`${VM}/`)) {
      const name = path.slice(VM.length + 1);
      const v = vmservers.get(name);
      if (!v) return nbError(res, 404, 9010, `Server ${name} not found`);
      if (req.method === 'GET') return sendJson(res, 200, { vmServer: { ...v, password: '' } }, { 'cache-control': 'private' });
      if (req.method === 'PUT') {
        try {
          Object.assign(v, JSON.parse(req.text), { serverName: name });
        } catch {
          return nbError(res, 400, 8400, 'Request body is not valid JSON');
        }
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.method === 'DELETE') {
        vmservers.delete(name);
        res.writeHead(204);
        res.end();
        return;
      }
    }
    if (req.method === 'GET' && sim.handle(req, res)) return;
    const job = /^\/netbackup\/admin\/jobs\/(\d+)$/.exec(path);
    if (job && req.method === 'GET') {
      const found = sim.jobs.get(Number(job[1]));
      return found ? sendJson(res, 200, { data: { type: 'job', id: job[1], attributes: found } }) : nbError(res, 404, 7708, `Job ${job[1]} not found`);
    }
    return nbError(res, 404, 404, `No resource at ${req.method} ${path}`);
  };
}

/** A jobs simulator with 25 jobs in mixed states, ids from 4711. */
export function seededSim(): NbSim {
  const sim = new NbSim();
  const states = ['DONE', 'ACTIVE', 'QUEUED'];
  for (let i = 0; i < 25; i++) {
    const job = sim.addJob({
      jobId: 4711 + i,
      clientName: `vm${String(i + 1).padStart(2, '0')}.domain.com`,
      scheduleType: i % 2 ? 'DIFFERENTIAL_INCREMENTAL_BACKUP' : 'FULL_BACKUP',
    });
    const state = states[i % 3] as string;
    if (state !== 'QUEUED') sim.setJobState(job.jobId, state);
  }
  return sim;
}
