// Routes each COMMAND to its backend: the longest mount that prefixes the uri, the mount
// stripped, then that backend's policy; each backend has its own pool, CA, timeout and auth
// profile, and signs calls with the credentials it holds.
import type { BackendConfig } from '../config/backends.js';
import { underMount } from '../config/backends.js';
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { NO_TELEMETRY, type Telemetry } from '../metrics/telemetry.js';
import { Policy } from '../policy/allow.js';
import type { CommandResponsePayload } from '../protocol/envelope.js';
import { RestClient, type RestCall, type RestCaller } from '../rest/client.js';
import type { AuthProfile, GateOptions } from './auth/profile.js';
import { Ahsay, NetBackupApiKey, Passthrough } from './auth/simple.js';
import { Cohesity, IbmIam, Storware, VeeamEm, VeeamVbr } from './auth/sessions.js';

/** Session headers a backend sets for the bridge: they stay with the bridge. */
const SESSION_RESPONSE_HEADERS = ['set-cookie', 'x-restsvcsessionid'];

/** One backend: where calls go and how they are signed. */
export class Backend implements RestCaller {
  readonly name: string;
  readonly mount: string;
  readonly policy: Policy;
  readonly #client: RestClient;
  readonly #auth: AuthProfile;
  readonly #signed: boolean;

  constructor(cfg: BackendConfig, connections: number, log: Logger, telemetry: Telemetry) {
    this.name = cfg.name;
    this.mount = cfg.mount;
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
}

export type Route = { ok: true; path: string; backend: RouteTarget } | { ok: false; error: AnsweredError };

/** Where a command may go. */
export interface Routing {
  route(method: string, uri: string): Route;
}

export class Router implements Routing {
  /** Longest mount first. */
  readonly backends: readonly Backend[];
  readonly #shape = new Policy({ allowedPaths: ['/'], allowedMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] });

  constructor(backends: readonly BackendConfig[], connections: number, log: Logger, telemetry: Telemetry = NO_TELEMETRY) {
    this.backends = backends
      .map((b) => new Backend(b, connections, log.child({ backend: b.name }), telemetry))
      .sort((x, y) => y.mount.length - x.mount.length);
  }

  route(method: string, uri: string): Route {
    const backend = this.backends.find((b) => underMount(uri, b.mount));
    if (!backend) {
      // Nothing mounted there: say what is wrong with the uri if anything is, else that no backend is there.
      const shape = this.#shape.checkUri(uri);
      if (!shape.ok) return shape;
      return { ok: false, error: new AnsweredError('NBW_ERR_POLICY_URI', `uri reaches no backend (mounts: ${this.backends.map((b) => b.mount).join(', ')})`) };
    }
    // The mount is a plain literal; everything after it goes through the backend's full policy.
    const rest = backend.mount === '/' ? uri : uri.slice(backend.mount.length);
    const stripped = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    const checked = backend.policy.check(method, stripped);
    return checked.ok ? { ok: true, path: checked.path, backend } : checked;
  }

  abortAll(reason: AnsweredError): void {
    for (const b of this.backends) b.abortAll(reason);
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close()));
  }
}
