// The hub service's HTTP API, for cloud applications in any language. Every route but
// /healthz and /metrics wants `Authorization: Bearer <key>`. Bodies are JSON; errors are
// {"error": {"code", "message"}} with a status that says what to do (see the README).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { BridgeAnswerError, HubError, MAX_TIMEOUT_MS, type Hub, type HubRequest } from '../cloud/index.js';
import type { Logger } from '../log/logger.js';
import type { NotificationFeed } from './feed.js';

/** The largest request body taken (a request's body travels inside it). */
const MAX_BODY = 64 * 1024 * 1024;

const STATUS_OF: Record<string, number> = { HUB_AGENT_OFFLINE: 503, HUB_TIMEOUT: 504, HUB_IN_FLIGHT_FULL: 429, HUB_CLOSED: 503, HUB_BRIDGE_ERROR: 502, HUB_REDIS_UNREACHABLE: 503, HUB_INVALID_REQUEST: 400 };


export interface ApiDeps {
  hub: Hub;
  feed: NotificationFeed;
  registry: Registry;
  key: string;
  /** The URL agents dial, for endpoint details (the hub's own when null). */
  publicUrl: string | null;
  log: Logger;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) res.writeHead(status, headers).end();
  else res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, 'HUB_API_TOO_LARGE', `the request body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'HUB_API_INVALID', 'the request body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ApiError(400, 'HUB_API_INVALID', 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

const invalid = (message: string) => new ApiError(400, 'HUB_API_INVALID', message);

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid('the path holds a malformed %-escape');
  }
}

/** A request the hub can send, from what the application posted; names the first field that is wrong. */
export function hubRequest(b: Record<string, unknown>): HubRequest {
  if (typeof b.method !== 'string' || !/^[A-Z]{1,16}$/.test(b.method)) throw invalid('method: must be an HTTP method in capitals, such as GET');
  if (typeof b.uri !== 'string' || !b.uri.startsWith('/') || b.uri.length > 8192) throw invalid('uri: must be a path starting with / (at most 8192 characters)');
  const headers = b.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || Object.values(headers).some((v) => typeof v !== 'string')) throw invalid('headers: must be an object of strings');
  if (b.id !== undefined && (typeof b.id !== 'string' || b.id.length === 0 || b.id.length > 256)) throw invalid('id: must be a string of 1 to 256 characters');
  if (b.timeoutMs !== undefined && (typeof b.timeoutMs !== 'number' || !Number.isSafeInteger(b.timeoutMs) || b.timeoutMs < 1 || b.timeoutMs > MAX_TIMEOUT_MS)) throw invalid(`timeoutMs: must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  const req: HubRequest = { method: b.method, uri: b.uri, headers: headers as Record<string, string> };
  if (b.body !== undefined && b.body !== null) req.body = b.body;
  if (b.id !== undefined) req.id = b.id as string;
  if (b.timeoutMs !== undefined) req.timeoutMs = b.timeoutMs as number;
  return req;
}

export function apiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const key = digest(deps.key);
  const authorized = (req: IncomingMessage) => {
    const m = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1] as string), key);
  };
  return (req, res) => {
    const parts = ((req.url ?? '/').split('?')[0] ?? '').split('/').slice(1); // by hand: a request line URL may not parse
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // /agents/ is /agents
    route(deps, req, res, parts, authorized)
      .then((status) => deps.log.debug({ method: req.method, route: parts[0], status }, 'api request'))
      .catch((err: unknown) => {
        const e = err instanceof ApiError ? err : err instanceof HubError ? new ApiError(STATUS_OF[err.code] ?? 500, err.code, err.message) : null;
        if (!e) deps.log.error({ error: (err as Error)?.message }, 'api: unexpected failure');
        const body: Record<string, unknown> = { code: e?.code ?? 'HUB_API_INTERNAL', message: e?.message ?? 'internal error' };
        if (err instanceof BridgeAnswerError) Object.assign(body, { status: err.status, bridgeCode: err.bridgeCode });
        if (!res.headersSent) send(res, e?.status ?? 500, { error: body });
        else res.end();
      });
  };
}

async function route(d: ApiDeps, req: IncomingMessage, res: ServerResponse, parts: string[], authorized: (r: IncomingMessage) => boolean): Promise<number> {
  const { method } = req;
  const [top, id, sub, tail] = [parts[0], parts[1] === undefined ? undefined : decoded(parts[1]), parts[2], parts[3]];
  if (top === 'healthz' && parts.length === 1) return reply(res, 200, { status: 'ok', agents: d.hub.agents().length });
  if (top === 'metrics' && parts.length === 1) {
    res.writeHead(200, { 'content-type': d.registry.contentType }).end(await d.registry.metrics());
    return 200;
  }
  if (!authorized(req)) return reply(res, 401, { error: { code: 'HUB_API_UNAUTHORIZED', message: 'send the API key as Authorization: Bearer <key>' } }, { 'www-authenticate': 'Bearer' });
  const want = (m: string, also: string[] = []) => {
    if (method !== m) throw new ApiError(405, 'HUB_API_METHOD', `${method} is not served here; use ${[...also, m].join(' or ')}`);
  };
  if (top === 'agents' && id === undefined) {
    if (method === 'GET') return reply(res, 200, { agents: await d.hub.listAgents() });
    want('POST', ['GET']);
    const b = await readJson(req);
    if (typeof b.agentId !== 'string' || !/^[^\u0000-\u001f\u007f]{1,200}$/.test(b.agentId) || /\p{Cs}/u.test(b.agentId)) throw invalid('agentId: must be a string of 1 to 200 characters, no control characters, well-formed Unicode');
    if (b.group !== undefined && (typeof b.group !== 'string' || !/^[\w.-]{1,64}$/.test(b.group))) throw invalid('group: must be 1 to 64 letters, digits, ".", "-" or "_"');
    if (b.priority !== undefined && (typeof b.priority !== 'number' || !Number.isSafeInteger(b.priority) || b.priority < 0)) throw invalid('priority: must be a whole number of at least 0');
    const details = await d.hub.issueAgent({ agentId: b.agentId, group: b.group as string | undefined, priority: b.priority as number | undefined });
    if (d.publicUrl) Object.assign(details, { url: d.publicUrl, hostName: new URL(d.publicUrl).hostname.replace(/^\[|\]$/g, '') });
    d.log.info({ agentId: b.agentId }, 'agent issued a token');
    return reply(res, 201, details);
  }
  if (top === 'agents' && id !== undefined && sub === undefined) {
    want('DELETE');
    const had = await d.hub.revokeAgent(id);
    d.log.info({ agentId: id, had }, 'agent token revoked');
    return had ? reply(res, 204) : reply(res, 404, { error: { code: 'HUB_API_NOT_FOUND', message: `no token is issued to agent ${id}` } });
  }
  if (top === 'agents' && id !== undefined && sub === 'requests' && tail === undefined) {
    want('POST');
    const answer = await d.hub.request(id, hubRequest(await readJson(req)));
    const binary = Buffer.isBuffer(answer.body);
    return reply(res, 200, { id: answer.id, status: answer.status, headers: answer.headers, body: binary ? answer.body.toString('base64') : answer.body, ...(binary ? { bodyEncoding: 'base64' } : {}) });
  }
  if ((top === 'agents' && id !== undefined && sub === 'notifications' && tail === undefined) || (top === 'notifications' && id === undefined)) {
    want('GET');
    d.feed.open(res, top === 'agents' ? (id as string) : null);
    return 200;
  }
  if (top === 'notifications' && id !== undefined && sub === 'ack' && tail === undefined) {
    want('POST');
    return d.feed.ack(id) ? reply(res, 204) : reply(res, 404, { error: { code: 'HUB_API_NOT_FOUND', message: 'no notification waits for that ack (acknowledged already, or timed out and left for the agent to send again)' } });
  }
  return reply(res, 404, { error: { code: 'HUB_API_NOT_FOUND', message: 'no such route; see the README ("The hub service")' } });
}

function reply(res: ServerResponse, status: number, body?: unknown, headers?: Record<string, string>): number {
  send(res, status, body, headers);
  return status;
}
