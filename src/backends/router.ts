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
import type { AuthProfile, GateOptions } from './auth/profile.js';
import { Ahsay, NetBackupApiKey, Passthrough } from './auth/simple.js';
import { Cohesity, IbmIam, Storware, VeeamEm, VeeamVbr } from './auth/sessions.js';

/** True when the uri's segments begin with the mount's (by name, as a server that strips ";" parameters reads them). */
function mountedAt(uri: ParsedUri, mount: readonly string[]): boolean {
  if (uri.segments.length < mount.length) return false;
  for (let i = 0; i < mount.length; i++) if (nameOf(uri.segments[i] as string) !== mount[i]) return false;
  return true;
}

/** Session headers a backend sets for the bridge: they stay with the bridge. */
const SESSION_RESPONSE_HEADERS = ['set-cookie', 'x-restsvcsessionid'];

/** One backend: where calls go and how they are signed. */
export class Backend implements RestCaller {
  readonly name: string;
  readonly mount: string;
  /** The mount as segments ([] for "/"). */
  readonly mountSegments: readonly string[];
  readonly policy: Policy;
  readonly #client: RestClient;
  readonly #auth: AuthProfile;
  readonly #signed: boolean;

  constructor(cfg: BackendConfig, connections: number, log: Logger, telemetry: Telemetry) {
    this.name = cfg.name;
    this.mount = cfg.mount;
    this.mountSegments = cfg.mount.split('/').filter((s) => s !== '');
    this.policy = new Policy(cfg);
    this.#client = new RestClient({ baseUrl: cfg.baseUrl, ca: cfg.ca, timeoutMs: cfg.timeoutMs, maxResponseBytes: cfg.maxResponseBytes, connections });
    this.#signed = cfg.auth.type !== 'passthrough';
    this.#auth = profileFor(cfg, (call) => this.#client.call(call), { backend: cfg.name, log }, () => telemetry.backendError(cfg.name));
  }

  /** Sends a call with the backend's credentials; a 401 logs in again and retries once. */
  async call(req: RestCall): Promise<CommandResponsePayload> {
    let res = await this.#client.call(await this.#auth.apply(req));
    if (res.responseCode === 401 && this.#auth.expired()) res = await this.#client.call(await this.#auth.apply(req));
    this.#auth.inspect(res);
    if (this.#signed) {
      const headers = { ...res.headers };
      for (const h of SESSION_RESPONSE_HEADERS) delete headers[h];
      res = { ...res, headers };
    }
    return res;
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

function profileFor(cfg: BackendConfig, send: (call: RestCall) => Promise<CommandResponsePayload>, gate: GateOptions, reportError: () => void): AuthProfile {
  const a = cfg.auth;
  switch (a.type) {
    case 'passthrough': return new Passthrough();
    case 'netbackup-apikey': return new NetBackupApiKey(a.apiKey);
    case 'ahsay': return new Ahsay(a.username, a.password, reportError);
    case 'veeam-em': return new VeeamEm(a, send, gate);
    case 'veeam-vbr': return new VeeamVbr(a, send, gate);
    case 'cohesity': return new Cohesity(a, send, gate);
    case 'ibm-iam': return new IbmIam(a, send, gate);
    case 'storware': return new Storware(a, send, gate);
  }
}

/** Where a routed call goes. */
export interface RouteTarget extends RestCaller {
  readonly name: string;
  /** For logs only. */
  readonly origin?: string;
}

export type Route = { ok: true; path: string; backend: RouteTarget } | { ok: false; error: AnsweredError };

/** Where a command may go. */
export interface Routing {
  route(method: string, uri: string): Route;
}

export class Router implements Routing {
  /** Longest mount first. */
  readonly backends: readonly Backend[];

  constructor(backends: readonly BackendConfig[], connections: number, log: Logger, telemetry: Telemetry = NO_TELEMETRY) {
    this.backends = backends
      .map((b) => new Backend(b, connections, log.child({ backend: b.name }), telemetry))
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
