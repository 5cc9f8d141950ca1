// Loads the configuration once: defaults < config file < NBWSS_* environment < CLI flags,
// validates every key, reads the files it names, and returns a frozen typed object.
import { existsSync } from 'node:fs';
import { requireConvict } from '../packages.js';
import { ConfigError } from '../errors.js';
import { resolveBackends, type BackendConfig } from './backends.js';
import { redactValue } from './redact.js';
import { resolveEndpoints, resolveProxy, redactUrl, safeUrl, type Endpoint, type ProxyConfig } from './endpoints.js';
import { expandPath, jsonErrorWhere, readCa, readSecret, readText, type Env } from './files.js';
import { schemaLeaves } from './leaves.js';
import { convictSchema, NOTIFICATION_SWITCHES, type LogLevel, type RawConfig, type RelayableMethod } from './schema.js';
import { redactAuth } from '../backends/auth/registry.js';

const convict = requireConvict();

export { isLoopbackHost } from './files.js';
export type { Endpoint, ProxyConfig } from './endpoints.js';
export type { AuthConfig, BackendConfig } from './backends.js';

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/**
 * The validated configuration every module receives. Nothing else reads the environment. Its
 * shape is the schema's (RawConfig, derived from it), with what loading adds: files read (CAs,
 * tokens, the API key), endpoints, proxy and backends resolved, methods upper-cased.
 */
export type Config = DeepReadonly<
  Omit<RawConfig, 'cloud' | 'rest' | 'backends' | 'notifications'> & {
    cloud: Omit<RawConfig['cloud'], 'endpoints' | 'proxy'> & {
      /** Every endpoint to dial, sorted by group then priority. */
      endpoints: Endpoint[];
      /** The proxy for the cloud connection, if any. */
      proxy: ProxyConfig | null;
      /** Contents of cloud.caFile. */
      ca: string | null;
    };
    rest: Omit<RawConfig['rest'], 'allowedMethods'> & {
      /** Contents of rest.caFile. */
      ca: string | null;
      allowedMethods: RelayableMethod[];
    };
    /** The REST targets: `backends`, or one named "netbackup" made of rest.*. */
    backends: BackendConfig[];
    notifications: RawConfig['notifications'] & {
      /** The API key read from apiKeyFile (null when notifications are off). */
      apiKey: string | null;
    };
    /** The config file that was read, if any. */
    configFile: string | null;
  }
>;

export interface LoadOptions {
  /** The process environment (only NBWSS_*, the proxy variables and the systemd directory variables are read). */
  env: Env;
  /** `--config FILE`; falls back to NBWSS_CONFIG. */
  configFile?: string | undefined;
  /** Values from CLI flags, by config key. */
  overrides?: Readonly<Record<string, string>>;
  /** The file read when neither configFile nor NBWSS_CONFIG names one, if it exists (/etc/nbwss-bridge/config.json for the CLI). */
  defaultFile?: string;
  /** `run` also requires the cloud settings; `rest` only what a REST call needs. */
  purpose: 'run' | 'rest';
}

export interface Loaded {
  config: Config;
  /** Things worth a warning that do not stop start-up, e.g. an unknown NBWSS_ variable. */
  warnings: string[];
}

/** Reads a config file: a JSON object, or null with the problem (never quoting the file) added to `problems`. */
export function readConfigFile(path: string, problems: string[]): Record<string, unknown> | null {
  const text = readText('config file', path, problems);
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`config file ${path}: not valid JSON (${jsonErrorWhere(err)})`);
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`config file ${path}: must hold a JSON object`);
    return null;
  }
  return parsed as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads and validates the configuration. Throws a ConfigError listing every problem,
 * one line per key; never exits the process.
 */
export function loadConfig(opts: LoadOptions): Loaded {
  const problems: string[] = [];
  const warnings: string[] = [];
  const env = opts.env;
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    // Node.js reads this variable itself: it would silently turn off every certificate check, to the cloud and to the REST API.
    throw new ConfigError([
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set in the environment: it turns off every certificate check (cloud and REST API), so the bridge will not start; unset it and trust a private CA with cloud.caFile or rest.caFile',
    ]);
  }

  const known = new Set(schemaLeaves().flatMap((l) => (l.env ? [l.env] : [])));
  known.add('NBWSS_CONFIG');
  for (const name of Object.keys(env)) {
    if (name.startsWith('NBWSS_') && !known.has(name)) warnings.push(`unknown environment variable ${name} ignored`);
  }

  // Only NBWSS_* reach convict, and an empty variable counts as unset.
  const nbwssEnv: Record<string, string> = {};
  for (const name of known) {
    const v = env[name];
    if (v !== undefined && v !== '') nbwssEnv[name] = v;
  }
  const conf = convict<RawConfig>(convictSchema, { env: nbwssEnv, args: [] });

  const configFile = opts.configFile ?? nbwssEnv.NBWSS_CONFIG ?? (opts.defaultFile !== undefined && existsSync(opts.defaultFile) ? opts.defaultFile : null);
  if (configFile !== null) {
    const obj = readConfigFile(configFile, problems);
    if (obj !== null) conf.load(obj);
  }
  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    conf.set(key as never, value as never);
  }

  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) if (line.trim()) problems.push(redactProblem(line.trim()));
  }
  // Checks across keys, reported with the others so one run names every problem.
  for (const [min, max] of [['reconnect.minMs', 'reconnect.maxMs'], ['login.minMs', 'login.maxMs']] as const) {
    const [lo, hi] = [conf.get(min), conf.get(max)];
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) problems.push(`${min}: ${lo} is greater than ${max} ${hi}`);
  }
  const basePath = restBasePath(conf.get('rest.baseUrl'));
  if (basePath !== null) {
    problems.push(`rest.baseUrl: must be the REST API's origin without a path (the cloud's uris already carry it, e.g. /netbackup/...); remove "${basePath}"`);
  }
  if (problems.length) throw new ConfigError(problems);

  const raw = conf.getProperties();

  let token = raw.cloud.token;
  if (raw.cloud.token !== null && raw.cloud.tokenFile !== null) {
    problems.push('cloud.token: set either cloud.token or cloud.tokenFile, not both');
  } else if (raw.cloud.tokenFile !== null) {
    token = readSecret('cloud.tokenFile', raw.cloud.tokenFile, env, problems);
  }
  if (raw.cloud.url !== null && raw.cloud.token === null && raw.cloud.tokenFile === null) {
    problems.push('cloud.token: required with cloud.url (set NBWSS_CLOUD_TOKEN_FILE, NBWSS_CLOUD_TOKEN or cloud.tokenFile in the config file)');
  }
  const endpoints = resolveEndpoints(raw, token, env, problems, warnings);
  if (opts.purpose === 'run' && endpoints.length === 0 && problems.length === 0) {
    problems.push('cloud.url: required (set NBWSS_CLOUD_URL, --cloud-url, cloud.url or cloud.endpoints in the config file, or NBWSS_ENDPOINTS_FILE)');
  }
  const proxy = resolveProxy(raw, env, problems);

  const stateDir = raw.state.dir === null ? null : expandPath('state.dir', raw.state.dir, env, problems);
  const n = raw.notifications;
  let apiKey: string | null = null;
  const on = notificationSwitchOn(n);
  if (on !== null) {
    if (raw.state.dir === null) problems.push(`notifications.${on}: notifications need state.dir (set NBWSS_STATE_DIR), so none is lost or sent twice across restarts`);
    if (n.apiKeyFile === null) problems.push('notifications.apiKeyFile: required when notifications are on (set NBWSS_NOTIFY_API_KEY_FILE to a file holding a NetBackup API key)');
    else apiKey = readSecret('notifications.apiKeyFile', n.apiKeyFile, env, problems);
  }
  const cloudCa = readCa('cloud.caFile', raw.cloud.caFile, env, problems);
  const restCa = readCa('rest.caFile', raw.rest.caFile, env, problems);
  const backends = resolveBackends(raw, restCa, env, problems);
  if (problems.length) throw new ConfigError(problems);

  const config: Config = {
    cloud: { ...raw.cloud, endpoints, proxy, token, ca: cloudCa },
    rest: {
      ...raw.rest,
      ca: restCa,
      allowedMethods: [...new Set(raw.rest.allowedMethods.map((m) => m.toUpperCase() as RelayableMethod))],
    },
    backends,
    queue: raw.queue,
    dedupe: raw.dedupe,
    outbox: raw.outbox,
    state: { dir: stateDir },
    reconnect: raw.reconnect,
    login: raw.login,
    connection: raw.connection,
    metrics: raw.metrics,
    notifications: { ...raw.notifications, apiKey },
    heartbeat: raw.heartbeat,
    shutdown: raw.shutdown,
    protocol: raw.protocol,
    log: { level: raw.log.level as LogLevel, format: raw.log.format },
    configFile,
  };
  return { config: deepFreeze(config), warnings };
}

/** The path of a REST base URL beyond "/", or null (none, or not a URL: its format check says so). */
function restBasePath(url: unknown): string | null {
  if (typeof url !== 'string' || !URL.canParse(url)) return null;
  const path = new URL(url).pathname;
  return path === '/' || path === '' ? null : path;
}

/** The first notification type the configuration turns on, or null: notifications are on when one is. */
export function notificationSwitchOn(n: RawConfig['notifications'] | Config['notifications']): string | null {
  return NOTIFICATION_SWITCHES.find((k) => (n as Record<string, unknown>)[k] === true) ?? null;
}

/** A convict problem line with the value it echoes ("…: value was <JSON>") redacted. */
function redactProblem(line: string): string {
  const at = line.indexOf(': value was ');
  if (at === -1) return line;
  const raw = line.slice(at + ': value was '.length);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `${line.slice(0, at)}: value not shown`;
  }
  return `${line.slice(0, at)}: value was ${JSON.stringify(redactValue(value))}`;
}

/** What the start log line says of the configuration: endpoints and backends without secrets. */
export function startSummary(c: Config): Record<string, unknown> {
  return {
    endpoints: c.cloud.endpoints.map((e) => ({ group: e.group, priority: e.priority, url: safeUrl(e.url) })),
    proxy: c.cloud.proxy ? (c.cloud.proxy.fromEnvironment ? 'from HTTPS_PROXY' : 'cloud.proxy') : null,
    backends: c.backends.map((b) => ({ name: b.name, mount: b.mount, baseUrl: b.baseUrl, auth: b.auth.type, allowedPaths: b.allowedPaths })),
    concurrency: c.queue.concurrency, maxPending: c.queue.maxPending, stateDir: c.state.dir, metrics: c.metrics.listen, configFile: c.configFile,
  };
}

/** The effective configuration with secrets replaced, as `check-config` prints it. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const { configFile, ...rest } = config;
  return {
    ...rest,
    cloud: {
      ...config.cloud,
      url: config.cloud.url === null ? null : redactUrl(config.cloud.url),
      endpoints: config.cloud.endpoints.map((e) => ({ ...e, url: redactUrl(e.url), token: '[redacted]' })),
      proxy: config.cloud.proxy && { ...config.cloud.proxy, url: redactUrl(config.cloud.proxy.url) },
      token: config.cloud.token === null ? null : '[redacted]',
      ca: config.cloud.ca === null ? null : '[PEM]',
    },
    rest: { ...config.rest, ca: config.rest.ca === null ? null : '[PEM]' },
    notifications: { ...config.notifications, apiKey: config.notifications.apiKey === null ? null : '[redacted]' },
    backends: config.backends.map((b) => ({ ...b, ca: b.ca === null ? null : '[PEM]', auth: redactAuth(b.auth) })),
    configFile,
  };
}
