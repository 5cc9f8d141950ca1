// The configuration of `nbwss-bridge hub`, loaded the daemon's way: defaults < config file
// (--config, NBWSS_HUB_CONFIG) < NBWSS_HUB_* environment < flags; every key checked once, every
// problem named, secret files read, and a frozen typed object handed to the service.
import { requireConvict } from '../packages.js';
import { ConfigError } from '../errors.js';
import { readConfigFile } from '../config/load.js';
import { expandPath, isLoopbackHost, parseListen, readSecret, readText, type Env } from '../config/files.js';
import type { LogLevel } from '../config/formats.js';

const convict = requireConvict();

convict.addFormat({
  name: 'nbw-hub-path',
  coerce: (v: unknown) => (typeof v === 'string' ? v.trim() : v),
  validate(v: unknown) {
    if (typeof v !== 'string' || !/^\/[\w\-./~]*$/.test(v)) throw new Error('must be a URL path such as /nbwss');
  },
});

convict.addFormat({
  name: 'nbw-redis-url',
  coerce: (v: unknown) => (typeof v === 'string' ? v.trim() : v),
  validate(v: unknown) {
    let u: URL | null = null;
    try {
      u = new URL(String(v));
    } catch {
      // reported below
    }
    if (!u || !['redis:', 'rediss:'].includes(u.protocol)) throw new Error('must be a redis:// or rediss:// URL');
  },
});

/** Each key: its doc, format, default, environment variable and flag. */
export const hubSchema = {
  listen: { doc: 'host:port the agents dial (their WebSocket endpoint)', format: 'nbw-listen', default: '127.0.0.1:8443', env: 'NBWSS_HUB_LISTEN', flag: 'listen' },
  path: { doc: 'URL path of the agents\' endpoint', format: 'nbw-hub-path', default: '/nbwss', env: 'NBWSS_HUB_PATH', flag: 'path' },
  publicUrl: { doc: 'The URL agents dial, as put in the endpoint details POST /agents returns (behind a load balancer); default: the listen address', format: 'nbw-ws-url', default: null, nullable: true, env: 'NBWSS_HUB_PUBLIC_URL', flag: 'public-url' },
  tls: {
    cert: { doc: 'Certificate (PEM) of the agents\' endpoint: wss:// with it', format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_HUB_TLS_CERT', flag: 'tls-cert' },
    key: { doc: 'Private key (PEM) of that certificate', format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_HUB_TLS_KEY', flag: 'tls-key' },
  },
  tokens: { doc: 'JSON file of the agents\' tokens (scrypt hashes, written 0600); POST /agents adds to it. With redis, the tokens are kept there instead', format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_HUB_TOKENS', flag: 'tokens' },
  redis: { doc: 'redis:// URL shared by every hub node of the application (unset: this node alone)', format: 'nbw-redis-url', default: null, nullable: true, sensitive: true, env: 'NBWSS_HUB_REDIS', flag: 'redis' },
  api: {
    listen: { doc: 'host:port of the HTTP API for the application', format: 'nbw-listen', default: '127.0.0.1:8444', env: 'NBWSS_HUB_API_LISTEN', flag: 'api-listen' },
    keyFile: { doc: 'File holding the API\'s bearer key (at least 32 characters); ${CREDENTIALS_DIRECTORY} is expanded', format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_HUB_API_KEY_FILE', flag: 'api-key-file' },
  },
  requestTimeoutMs: { doc: 'Time limit of a request unless it names its own', format: 'nbw-uint', min: 100, max: 2147483647, default: 120000, env: 'NBWSS_HUB_REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms' },
  heartbeatMs: { doc: 'Ping interval of each agent connection; one that misses a ping is dropped', format: 'nbw-uint', min: 100, max: 2147483647, default: 30000, env: 'NBWSS_HUB_HEARTBEAT_MS', flag: 'heartbeat-ms' },
  maxInFlightPerAgent: { doc: 'Requests waiting for an answer per agent; past it, 429', format: 'nbw-uint', min: 1, default: 1000, env: 'NBWSS_HUB_MAX_IN_FLIGHT', flag: 'max-in-flight' },
  ackTimeoutMs: { doc: 'Time a notification sent to an event stream waits for its POST .../ack before it is left for the agent to send again', format: 'nbw-uint', min: 100, max: 2147483647, default: 60000, env: 'NBWSS_HUB_ACK_TIMEOUT_MS', flag: 'ack-timeout-ms' },
  allowInsecure: { doc: 'Allow either endpoint on an address that is not loopback without TLS (tokens and the API key would cross the network in clear text)', format: 'nbw-bool', default: false, env: 'NBWSS_HUB_ALLOW_INSECURE', flag: 'allow-insecure' },
  log: { level: { doc: 'fatal, error, warn, info, debug, trace or silent', format: 'nbw-level', default: 'info', env: 'NBWSS_HUB_LOG_LEVEL', flag: 'log-level' } },
};

export interface HubConfig {
  readonly listen: { host: string; port: number };
  readonly path: string;
  readonly publicUrl: string | null;
  readonly tls: { cert: string; key: string } | null;
  /** The token file; null with Redis, which keeps them. */
  readonly tokens: string | null;
  readonly redis: string | null;
  readonly api: { listen: { host: string; port: number }; key: string };
  readonly requestTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly maxInFlightPerAgent: number;
  readonly ackTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly configFile: string | null;
}

type Raw = {
  listen: string; path: string; publicUrl: string | null; tls: { cert: string | null; key: string | null }; tokens: string | null; redis: string | null;
  api: { listen: string; keyFile: string | null }; requestTimeoutMs: number; heartbeatMs: number; maxInFlightPerAgent: number; ackTimeoutMs: number; allowInsecure: boolean; log: { level: LogLevel };
};

/** Every leaf, flattened: the flags and the help are made from these. */
export function hubLeaves(): { key: string; doc: string; env: string; flag: string; boolean: boolean; default: unknown }[] {
  const out: ReturnType<typeof hubLeaves> = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [name, v] of Object.entries(node) as [string, Record<string, unknown>][]) {
      if ('default' in v) out.push({ key: prefix + name, doc: String(v.doc), env: String(v.env), flag: String(v.flag), boolean: v.format === 'nbw-bool', default: v.default });
      else walk(v, `${prefix}${name}.`);
    }
  };
  walk(hubSchema, '');
  return out;
}

/** `{"tls.cert": v}` read as `{"tls": {"cert": v}}`: the file may name keys either way, as the README's tables do. */
function nested(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const path = key.split('.');
    let at = out;
    for (const part of path.slice(0, -1)) {
      const next = at[part];
      at = (at[part] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    const last = path[path.length - 1] as string;
    const prev = at[last];
    at[last] = typeof prev === 'object' && prev !== null && typeof value === 'object' && value !== null ? { ...prev, ...value } : value;
  }
  return out;
}

export function loadHubConfig(opts: { env: Env; configFile?: string | undefined; overrides?: Record<string, string> }): { config: HubConfig; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const known = new Set(hubLeaves().map((l) => l.env));
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(opts.env)) {
    if (!name.startsWith('NBWSS_HUB_') || v === undefined || v === '') continue;
    if (known.has(name)) env[name] = v;
    else if (name !== 'NBWSS_HUB_CONFIG') warnings.push(`unknown environment variable ${name} ignored`);
  }
  const conf = convict<Raw>(hubSchema as never, { env, args: [] });
  const file = opts.configFile ?? opts.env.NBWSS_HUB_CONFIG ?? null;
  if (file) {
    const obj = readConfigFile(file, problems);
    if (obj) conf.load(nested(obj));
  }
  for (const [key, value] of Object.entries(opts.overrides ?? {})) conf.set(key as never, value as never);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) if (line.trim()) problems.push(line.trim().replace(/redis: must be .*?: value was ".*"/, 'redis: must be a redis:// or rediss:// URL'));
  }
  if (problems.length) throw new ConfigError(problems);
  const raw = conf.getProperties();

  if (raw.tokens === null && raw.redis === null) problems.push('tokens: required: the file the agents\' tokens are kept in (set NBWSS_HUB_TOKENS or --tokens; with redis they are kept there)');
  if (raw.tokens !== null && raw.redis !== null) problems.push('tokens: with redis the agents\' tokens are kept in Redis, shared by every hub node; remove tokens (NBWSS_HUB_TOKENS, --tokens)');
  const tokens = raw.tokens === null ? null : expandPath('tokens', raw.tokens, opts.env, problems);
  let key: string | null = null;
  if (raw.api.keyFile === null) problems.push('api.keyFile: required: a file holding the API\'s bearer key (set NBWSS_HUB_API_KEY_FILE or --api-key-file)');
  else key = readSecret('api.keyFile', raw.api.keyFile, opts.env, problems);
  if (key !== null && key.length < 32) problems.push(`api.keyFile: the key is ${key.length} characters long; use at least 32 (e.g. openssl rand -hex 32)`);
  let tls: { cert: string; key: string } | null = null;
  if ((raw.tls.cert === null) !== (raw.tls.key === null)) problems.push('tls: set both tls.cert and tls.key, or neither');
  else if (raw.tls.cert !== null && raw.tls.key !== null) {
    const [cert, k] = [readText('tls.cert', raw.tls.cert, problems), readSecret('tls.key', raw.tls.key, opts.env, problems)];
    if (cert !== null && k !== null) tls = { cert, key: k };
  }
  const listen = parseListen(raw.listen);
  const apiListen = parseListen(raw.api.listen);
  if (!raw.allowInsecure && raw.tls.cert === null && !isLoopbackHost(listen.host)) {
    problems.push(`listen: ${raw.listen} is not loopback and there is no tls.cert: agents' tokens would cross the network in clear text (give tls.cert and tls.key, put a TLS proxy in front on loopback, or set allowInsecure)`);
  }
  if (!raw.allowInsecure && !isLoopbackHost(apiListen.host)) {
    problems.push(`api.listen: ${raw.api.listen} is not loopback: the API key and every request would cross the network in clear text (put a TLS proxy in front on loopback, or set allowInsecure)`);
  }
  if (problems.length || key === null) throw new ConfigError(problems);
  const config: HubConfig = {
    listen, path: raw.path, publicUrl: raw.publicUrl, tls, tokens, redis: raw.redis,
    api: { listen: apiListen, key },
    requestTimeoutMs: raw.requestTimeoutMs, heartbeatMs: raw.heartbeatMs, maxInFlightPerAgent: raw.maxInFlightPerAgent, ackTimeoutMs: raw.ackTimeoutMs,
    logLevel: raw.log.level, configFile: file,
  };
  return { config: Object.freeze(config), warnings };
}
