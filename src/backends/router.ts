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
import { RestClient, type RestCall, type RestCaller } from '../rest/client.js';
import type { AuthProfile } from './auth/profile.js';
import { CREDENTIAL_HEADERS, PROFILES, responseAllowlist } from './auth/registry.js';
import { scrub } from './scrub.js';

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
export class Backend implements RestCaller {
  readonly name: string;
  readonly mount: string;
  /** The mount as segments ([] for "/"). */
  readonly mountSegments: readonly string[];
  readonly policy: Policy;
  readonly #client: RestClient;
  readonly #auth: AuthProfile;
  /** Response headers that may reach the cloud, or null when the bridge holds no credential here. */
  readonly #allow: ReadonlySet<string> | null;
  readonly #log: Logger;
  readonly #telemetry: Telemetry;
  readonly #maxBytes: number;

  constructor(cfg: BackendConfig, opts: RouterOptions, log: Logger, telemetry: Telemetry) {
    this.name = cfg.name;
    this.mount = cfg.mount;
    this.mountSegments = cfg.mount.split('/').filter((s) => s !== '');
    this.policy = new Policy(cfg);
    this.#log = log;
    this.#telemetry = telemetry;
    this.#maxBytes = cfg.maxResponseBytes;
    this.#client = new RestClient({ baseUrl: cfg.baseUrl, ca: cfg.ca, timeoutMs: cfg.timeoutMs, maxResponseBytes: cfg.maxResponseBytes, connections: opts.connections });
    this.#allow = responseAllowlist(cfg.auth.type);
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
    });
  }

  /**
   * Sends a call with the backend's credentials. A 401 on a session that is stale replaces it
   * (once, for every call that saw it) and the call is made once more; the answer of a signed
   * call keeps no credential of the bridge's.
   */
  async call(req: RestCall): Promise<CommandResponsePayload> {
    let signed = await this.#auth.apply(req);
    let res = await this.#client.call(signed.call);
    if (res.responseCode === 401 && (await this.#auth.unauthorized(signed))) {
      signed = await this.#auth.apply(req);
      res = await this.#client.call(signed.call);
    }
    if (res.responseCode !== 401) this.#auth.accepted(signed);
    this.#auth.inspect(res);
    if (this.#allow === null) return res;
    const scrubbed = scrub(res, this.#allow, this.#auth.secrets(), this.#maxBytes);
    if (scrubbed === null) {
      throw new AnsweredError(
        'NBW_ERR_REST_FAILED',
        `the answer is compressed (${res.headers['content-encoding']}) in a way the bridge cannot check for its own credentials, so it is withheld`,
      );
    }
    const { res: clean, hits } = scrubbed;
    if (hits > 0) {
      this.#telemetry.secretsRedacted(this.name, hits);
      this.#log.warn({ backend: this.name, path: req.path.split('?')[0], count: hits }, "the backend echoed a credential of the bridge's in its answer; replaced with [redacted]");
    }
    return clean;
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
  }

  /** Logs out, then closes the pool once its calls are done. */
  async close(): Promise<void> {
    await this.#auth.close().catch(() => {});
    await this.#client.close();
  }
}

/** Where a routed call goes. */
export interface RouteTarget extends RestCaller {
  readonly name: string;
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
    for (const m of new Set([method, backend.methodSent(method)])) {
      const refused = backend.policy.checkMethod(m);
      if (refused) return { ok: false, error: refused };
    }
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
