// Routes each COMMAND to its backend: the longest mount that prefixes the uri, the mount
// stripped, then that backend's policy; each backend has its own pool, CA, timeout and auth
// profile, and signs calls with the credentials it holds.
import type { BackendConfig } from '../config/backends.js';
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { Policy } from '../policy/allow.js';
import { nameOf, parseUri, type ParsedUri } from '../policy/uri.js';
import type { CommandResponsePayload } from '../protocol/envelope.js';
import { toPayload } from '../protocol/encode.js';
import { RestClient, type HttpResult, type RestCall } from '../rest/client.js';
import { probeOrigin } from '../rest/probe.js';

/** Time a readiness probe of a REST API may take. */
const PROBE_TIMEOUT_MS = 5000;
import { Sessionless, type AuthProfile } from './auth/profile.js';
import { CREDENTIAL_HEADERS, PROFILES, responseAllowlist } from './auth/registry.js';
import { compose, filtering, signing, type Send } from './layers.js';

/** True when the uri's segments begin with the mount's (by name, as a server that strips ";" parameters reads them). */
function mountedAt(uri: ParsedUri, mount: readonly string[]): boolean {
  if (uri.segments.length < mount.length) return false;
  for (let i = 0; i < mount.length; i++) if (nameOf(uri.segments[i] as string) !== mount[i]) return false;
  return true;
}

export interface RouterOptions {
  /** Connections per backend pool (queue.concurrency). */
  connections: number;
  /** Waits between failed logins (login.*). */
  login: { minMs: number; maxMs: number };
}

/** One backend: where calls go and how they are signed. */
export class Backend implements RouteTarget {
  readonly name: string;
  readonly mount: string;
  /** The mount as segments ([] for "/"). */
  readonly mountSegments: readonly string[];
  readonly policy: Policy;
  readonly #client: RestClient;
  readonly #auth: AuthProfile;
  /** The REST client wrapped in the backend's layers, its answers shaped for the wire. */
  readonly #send: Send<CommandResponsePayload>;
  /** Clients of the profile's own to other origins (IAM), closed with the backend. */
  readonly #others: RestClient[] = [];
  readonly #cfg: BackendConfig;

  constructor(cfg: BackendConfig, opts: RouterOptions, log: Logger, telemetry: Telemetry) {
    this.name = cfg.name;
    this.mount = cfg.mount;
    this.mountSegments = cfg.mount.split('/').filter((s) => s !== '');
    this.policy = new Policy(cfg);
    const client = (baseUrl: string, connections: number, servername: string | null = null) =>
      new RestClient({ baseUrl, ca: cfg.ca, servername, timeoutMs: cfg.timeoutMs, maxResponseBytes: cfg.maxResponseBytes, connections });
    this.#client = client(cfg.baseUrl, opts.connections, cfg.servername);
    this.#cfg = cfg;
    const spec = PROFILES.get(cfg.auth.type);
    if (!spec) throw new TypeError(`no auth profile ${cfg.auth.type}; the configuration loader checks that`);
    this.#auth = spec.create(cfg.auth.values, {
      send: (call) => this.#client.call(call),
      backend: cfg.name,
      log,
      reportError: () => telemetry.backendError(cfg.name),
      sessions: (live) => telemetry.backendSessions(cfg.name, live),
      strip: CREDENTIAL_HEADERS,
      login: opts.login,
      connect: (url) => {
        const other = client(url, 1);
        this.#others.push(other);
        return other;
      },
    });
    const allow = responseAllowlist(cfg.auth.type);
    const auth = this.#auth;
    const direct: Send = (call) => this.#client.call(call);
    // A profile that does not sign (passthrough) leaves every call and answer as it is: no layer for it.
    const signed = spec.signs ? compose(direct, [signing(auth)]) : direct;
    const shaped: Send<CommandResponsePayload> = (call) => signed(call).then(toPayload);
    this.#send = compose(shaped, allow === null ? [] : [filtering({
      backend: cfg.name, allow, secrets: () => auth.secrets(), maxBytes: cfg.maxResponseBytes, log,
      redacted: (hits) => telemetry.secretsRedacted(cfg.name, hits),
    })]);
  }

  /**
   * Sends a call through the backend's layers: signed with its credentials (once more after a
   * 401 on a stale session), and, where it signs, the answer kept free of its credentials.
   */
  call(req: RestCall): Promise<CommandResponsePayload> {
    return this.#send(req);
  }

  /** Where calls go (scheme, host and port), for logs only: never in an answer to the cloud. */
  get origin(): string {
    return this.#client.origin;
  }

  /** The method a call from the cloud is sent with (a profile may change it). */
  methodSent(method: string): string {
    return this.#auth.methodSent?.(method) ?? method;
  }

  abortAll(reason: AnsweredError): void {
    this.#client.abortAll(reason);
    for (const c of this.#others) c.abortAll(reason);
  }

  /**
   * For doctor: has the profile sign a call, which logs in where it keeps sessions, then logs
   * out. Resolves what happened; rejects with the login's failure (never carrying a secret).
   */
  async checkLogin(): Promise<'passthrough' | 'static' | 'session'> {
    if (!(PROFILES.get(this.#cfg.auth.type)?.signs ?? false)) return 'passthrough';
    if (this.#auth instanceof Sessionless) return 'static';
    await this.#auth.apply({ method: 'GET', path: '/', headers: {} });
    await this.#auth.close();
    return 'session';
  }

  /** Whether the REST API can be reached (TCP, and TLS as calls check it); null, or why not. */
  async probe(): Promise<string | null> {
    return (await probeOrigin(this.#cfg.baseUrl, { ca: this.#cfg.ca, servername: this.#cfg.servername, timeoutMs: PROBE_TIMEOUT_MS })).error;
  }

  /** Logs out, then closes the pool once its calls are done. */
  async close(): Promise<void> {
    await this.#auth.close().catch(() => {});
    await Promise.all([this.#client, ...this.#others].map((c) => c.close()));
  }
}

/** Where a routed call goes: its answer comes back as a COMMAND RESPONSE payload. */
export interface RouteTarget {
  readonly name: string;
  call(req: RestCall): Promise<CommandResponsePayload>;
  /** For logs only. */
  readonly origin?: string;
  /** The method the backend receives for a call made with `method` (AhsayCBS: every call is a POST). */
  methodSent?(method: string): string;
}

export type Route = { ok: true; path: string; backend: RouteTarget } | { ok: false; error: AnsweredError };

/** Where a command may go. */
export interface Routing {
  route(method: string, uri: string): Route;
}

export class Router implements Routing {
  /** Longest mount first. */
  readonly backends: readonly Backend[];

  constructor(backends: readonly BackendConfig[], opts: RouterOptions, log: Logger, telemetry: Telemetry = NO_TELEMETRY) {
    this.backends = backends
      .map((b) => new Backend(b, opts, log.child({ backend: b.name }), telemetry))
      .sort((x, y) => y.mount.length - x.mount.length);
  }

  /**
   * The uri is read once into canonical segments; the backend is the one whose mount's
   * segments begin them (the longest), and its policy checks the method it will send and the
   * segments after the mount, from which the path to send is built.
   */
  route(method: string, uri: string): Route {
    const parsed = parseUri(uri);
    if (!parsed.ok) return { ok: false, error: new AnsweredError('NBW_ERR_POLICY_URI', parsed.reason) };
    const u = parsed.uri;
    const backend = this.backends.find((b) => mountedAt(u, b.mountSegments));
    if (!backend) {
      return { ok: false, error: new AnsweredError('NBW_ERR_POLICY_URI', `uri reaches no backend (mounts: ${this.backends.map((b) => b.mount).join(', ')})`) };
    }
    const sent = backend.methodSent(method);
    const refused = backend.policy.checkMethod(method) ?? (sent === method ? null : backend.policy.checkMethod(sent));
    if (refused) return { ok: false, error: refused };
    const checked = backend.policy.checkParsed(u, backend.mountSegments.length);
    return checked.ok ? { ok: true, path: checked.path, backend } : checked;
  }

  abortAll(reason: AnsweredError): void {
    for (const b of this.backends) b.abortAll(reason);
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close()));
  }
}
