// The configuration schema: every key, its format, default, environment variable and CLI flag,
// written once. The type of the values convict holds (RawConfig) is derived from it.
import type convict from 'convict';
import { LOG_FORMATS, LOG_LEVELS, RELAYABLE_METHODS, type FormatTypes } from './formats.js';

export { checkEndpoint, ENDPOINT_KEYS, groupName, LOG_FORMATS, type LogFormat, LOG_LEVELS, RELAYABLE_METHODS, type LogLevel, type RelayableMethod } from './formats.js';
export type { RawBackend, RawEndpoint } from './raw.js';

const MiB = 1024 * 1024;

/**
 * The schema. Each leaf names its environment variable (`env`) and, for the CLI, its flag
 * (`flag`, used as `--flag VALUE`). Defaults live here and nowhere else.
 */
export const schema = {
  cloud: {
    url: {
      doc: 'WebSocket URL of the cloud application endpoint to dial (ws:// only to loopback unless cloud.allowInsecure)',
      format: 'nbw-ws-url', default: null, nullable: true, env: 'NBWSS_CLOUD_URL', flag: 'cloud-url',
    },
    endpoints: {
      doc: 'Cloud endpoints (config file only): a list of {url, token | tokenFile, groupId (alias group), priority, hostName}; one connection per group, to its reachable endpoint of lowest priority number',
      format: 'nbw-endpoints', default: [],
    },
    endpointsFile: {
      doc: 'The endpoint details JSON a cloud application generates for NetBackup (a list of endpoints, {"endpoints": [...]} or one endpoint object); ${CREDENTIALS_DIRECTORY} is expanded',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_ENDPOINTS_FILE', flag: 'endpoints-file',
    },
    proxy: {
      doc: 'HTTP CONNECT proxy for the cloud connection (every endpoint); unset: HTTPS_PROXY / https_proxy, honouring NO_PROXY',
      format: 'nbw-proxy-url', default: null, nullable: true, sensitive: true, env: 'NBWSS_CLOUD_PROXY', flag: 'cloud-proxy',
    },
    token: {
      doc: 'Endpoint token sent in the CONNECT REQUEST (prefer cloud.tokenFile)',
      format: 'nbw-secret', default: null, nullable: true, sensitive: true, env: 'NBWSS_CLOUD_TOKEN',
    },
    tokenFile: {
      doc: 'File holding the endpoint token; one trailing newline is trimmed. ${CREDENTIALS_DIRECTORY} is expanded',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_CLOUD_TOKEN_FILE', flag: 'cloud-token-file',
    },
    caFile: {
      doc: 'Extra CA certificate (PEM) trusted for the cloud endpoint, beside the system roots',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_CLOUD_CA_FILE', flag: 'cloud-ca-file',
    },
    allowInsecure: {
      doc: 'Allow plain ws:// to a host that is not loopback (JWTs would cross the network in clear text)',
      format: 'nbw-bool', default: false, env: 'NBWSS_CLOUD_ALLOW_INSECURE', flag: 'cloud-allow-insecure',
    },
    connectTimeoutMs: {
      doc: 'Time allowed to open the WebSocket and again for the CONNECT RESPONSE',
      format: 'nbw-uint', min: 100, default: 30000, env: 'NBWSS_CONNECT_TIMEOUT_MS', flag: 'cloud-connect-timeout-ms',
    },
    maxMessageBytes: {
      doc: 'Largest COMMAND REQUEST frame served; larger ones are answered 413',
      format: 'nbw-uint', min: 1024, default: 16 * MiB, env: 'NBWSS_MAX_MESSAGE_BYTES', flag: 'cloud-max-message-bytes',
    },
    maxBufferedBytes: {
      doc: 'Bytes queued toward a slow cloud reader past which no new REST call of its endpoint group starts until the socket drains',
      format: 'nbw-uint', min: 1024, default: 8 * MiB, env: 'NBWSS_MAX_BUFFERED_BYTES', flag: 'cloud-max-buffered-bytes',
    },
    perMessageDeflate: {
      doc: 'Offer permessage-deflate compression on the WebSocket',
      format: 'nbw-bool', default: false, env: 'NBWSS_CLOUD_PER_MESSAGE_DEFLATE', flag: 'cloud-per-message-deflate',
    },
    loopbackZeroMask: {
      doc: 'Mask frames to a loopback cloud endpoint with zeros instead of random keys (saves an XOR pass per answer; only for a cloud or proxy on this host)',
      format: 'nbw-bool', default: false, env: 'NBWSS_CLOUD_LOOPBACK_ZERO_MASK', flag: 'cloud-loopback-zero-mask',
    },
    maxJsonDepth: {
      doc: 'Deepest nesting of JSON objects and arrays accepted in a message from the cloud; deeper COMMAND REQUESTs are answered 400',
      format: 'nbw-uint', min: 8, default: 128, env: 'NBWSS_CLOUD_MAX_JSON_DEPTH', flag: 'cloud-max-json-depth',
    },
  },
  rest: {
    baseUrl: {
      doc: 'Base URL of the local REST API',
      format: 'nbw-http-url', default: 'https://localhost:1556', env: 'NBWSS_REST_BASE_URL', flag: 'rest-base-url',
    },
    caFile: {
      doc: 'Extra CA certificate (PEM) trusted for the REST API, e.g. the NetBackup CA',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_REST_CA_FILE', flag: 'rest-ca-file',
    },
    servername: {
      doc: "Name expected on the REST API's certificate when it is not rest.baseUrl's host (NetBackup's certificate names the primary server, not localhost); also sent as SNI",
      format: 'nbw-hostname', default: null, nullable: true, env: 'NBWSS_REST_SERVERNAME', flag: 'rest-servername',
    },
    timeoutMs: {
      doc: 'Time limit of one REST call, from start to the last byte of the response',
      format: 'nbw-uint', min: 1, default: 120000, env: 'NBWSS_REST_TIMEOUT_MS', flag: 'rest-timeout-ms',
    },
    probeMs: {
      doc: 'How often each REST API is probed for /readyz: a TCP connection and TLS handshake checked as calls check them, no request',
      format: 'nbw-uint', min: 100, default: 15000, env: 'NBWSS_REST_PROBE_MS', flag: 'rest-probe-ms',
    },
    allowedPaths: {
      doc: 'Path prefixes the cloud may reach (comma-separated in the environment)',
      format: 'nbw-path-list', default: ['/netbackup/'], env: 'NBWSS_ALLOWED_PATHS', flag: 'allowed-paths',
    },
    allowedMethods: {
      doc: `HTTP methods the cloud may use, among ${RELAYABLE_METHODS.join(', ')}`,
      format: 'nbw-method-list', default: [...RELAYABLE_METHODS], env: 'NBWSS_ALLOWED_METHODS', flag: 'allowed-methods',
    },
    allowPathParameters: {
      doc: 'Let ";" path parameters through in uris (off: refused, since servers such as Tomcat read "..;x" as ".."); the name before ";" is checked all the same',
      format: 'nbw-bool', default: false, env: 'NBWSS_ALLOW_PATH_PARAMETERS', flag: 'allow-path-parameters',
    },
    maxResponseBytes: {
      doc: 'Largest REST response body relayed; a larger one is answered 502',
      format: 'nbw-uint', min: 1024, default: 64 * MiB, env: 'NBWSS_REST_MAX_RESPONSE_BYTES', flag: 'rest-max-response-bytes',
    },
  },
  backends: {
    doc: 'REST targets beyond NetBackup (config file only): a list of {name, mount, baseUrl, caFile, timeoutMs, allowedPaths, allowedMethods, auth}; empty: one backend "netbackup" made of rest.*',
    format: 'nbw-backends',
    default: [],
  },
  queue: {
    concurrency: {
      doc: 'REST calls in flight at most',
      format: 'nbw-uint', min: 1, default: 8, env: 'NBWSS_CONCURRENCY', flag: 'concurrency',
    },
    maxPending: {
      doc: 'Requests waiting at most beyond those in flight; past it requests are answered 503',
      format: 'nbw-uint', min: 0, default: 1000, env: 'NBWSS_MAX_PENDING', flag: 'max-pending',
    },
  },
  dedupe: {
    ttlMs: {
      doc: 'How long an answered id is remembered: a resend within it gets the stored answer, never a second execution',
      format: 'nbw-uint', min: 1000, default: 600000, env: 'NBWSS_DEDUPE_TTL_MS', flag: 'dedupe-ttl-ms',
    },
    maxEntries: {
      doc: 'Ids remembered at most; the oldest answered ones are forgotten first, never one still running',
      format: 'nbw-uint', min: 1, default: 100000, env: 'NBWSS_DEDUPE_MAX_ENTRIES', flag: 'dedupe-max-entries',
    },
    maxBytes: {
      doc: 'UTF-8 bytes of remembered ids and stored answers at most; past it the oldest answers are released (never one not yet proven read) and a resend of their id is answered 503 "response expired"',
      format: 'nbw-uint', min: 1024, default: 16 * MiB, env: 'NBWSS_DEDUPE_MAX_BYTES', flag: 'dedupe-max-bytes',
    },
  },
  outbox: {
    maxBytes: {
      doc: 'Bytes of answers held while no connection is up; past it the oldest are dropped (their ids answered 503 "response expired")',
      format: 'nbw-uint', min: 1024, default: 64 * MiB, env: 'NBWSS_OUTBOX_MAX_BYTES', flag: 'outbox-max-bytes',
    },
  },
  state: {
    dir: {
      doc: 'Directory for the id journal, so answers and unfinished calls survive a restart; memory only when unset. ${STATE_DIRECTORY} is expanded',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_STATE_DIR', flag: 'state-dir',
    },
  },
  reconnect: {
    minMs: {
      doc: 'Shortest wait before a reconnect',
      format: 'nbw-uint', min: 1, default: 1000, env: 'NBWSS_RECONNECT_MIN_MS', flag: 'reconnect-min-ms',
    },
    maxMs: {
      doc: 'Longest wait before a reconnect',
      format: 'nbw-uint', min: 1, default: 60000, env: 'NBWSS_RECONNECT_MAX_MS', flag: 'reconnect-max-ms',
    },
  },
  login: {
    minMs: {
      doc: 'Shortest wait before a backend login is tried again after one failed, and between replacements of a session on 401 that did not help',
      format: 'nbw-uint', min: 1, default: 1000, env: 'NBWSS_LOGIN_MIN_MS', flag: 'login-min-ms',
    },
    maxMs: {
      doc: 'Longest wait before a backend login is tried again',
      format: 'nbw-uint', min: 1, default: 60000, env: 'NBWSS_LOGIN_MAX_MS', flag: 'login-max-ms',
    },
  },
  connection: {
    periodMs: {
      doc: "NetBackup's connectionInfo.period: with connection.failBack, how often a group connected to a lower-priority endpoint tries its better ones",
      format: 'nbw-uint', min: 100, default: 60000, env: 'NBWSS_CONNECT_PERIOD_MS', flag: 'connect-period-ms',
    },
    failBack: {
      doc: 'Move a connected group back to a better endpoint once it answers (a second connection while the move is made). Off, as NetBackup does: a better endpoint is used after the connection is lost, or when the cloud closes it',
      format: 'nbw-bool', default: false, env: 'NBWSS_FAIL_BACK', flag: 'fail-back',
    },
  },
  metrics: {
    listen: {
      doc: 'host:port for GET /healthz, /readyz and /metrics (Prometheus); off when unset',
      format: 'nbw-listen', default: null, nullable: true, env: 'NBWSS_METRICS_LISTEN', flag: 'metrics-listen',
    },
  },
  notifications: {
    jobs: {
      doc: 'Poll the jobs API and push JOB NOTIFICATIONs (needs state.dir and notifications.apiKeyFile)',
      format: 'nbw-bool', default: false, env: 'NBWSS_NOTIFY_JOBS', flag: 'notify-jobs',
    },
    images: {
      doc: 'Poll the catalog images API and push IMAGE NOTIFICATIONs (needs state.dir and notifications.apiKeyFile)',
      format: 'nbw-bool', default: false, env: 'NBWSS_NOTIFY_IMAGES', flag: 'notify-images',
    },
    pollMs: {
      doc: 'Time between polls of the jobs and images APIs',
      format: 'nbw-uint', min: 100, default: 30000, env: 'NBWSS_NOTIFY_POLL_MS', flag: 'notify-poll-ms',
    },
    apiKeyFile: {
      doc: 'File holding a NetBackup API key used only for these polls (sent raw in Authorization, never logged, never sent to the cloud)',
      format: 'nbw-file', default: null, nullable: true, env: 'NBWSS_NOTIFY_API_KEY_FILE', flag: 'notify-api-key-file',
    },
    batchMax: {
      doc: 'Records per NOTIFICATION REQUEST at most',
      format: 'nbw-uint', min: 1, default: 100, env: 'NBWSS_NOTIFY_BATCH_MAX', flag: 'notify-batch-max',
    },
    ackTimeoutMs: {
      doc: "NetBackup's notification.scheduledRate: time a NOTIFICATION REQUEST waits for its RESPONSE before it is sent again with the same id",
      format: 'nbw-uint', min: 100, default: 5000, env: 'NBWSS_NOTIFY_ACK_TIMEOUT_MS', flag: 'notify-ack-timeout-ms',
    },
    maxPending: {
      doc: 'Records waiting for acknowledgement at most; past it the oldest are dropped with one summary warning',
      format: 'nbw-uint', min: 1, default: 100000, env: 'NBWSS_NOTIFY_MAX_PENDING', flag: 'notify-max-pending',
    },
    imagesWindowMs: {
      doc: 'How far back images are watched for changes (the images API lists the last 24 hours by default)',
      format: 'nbw-uint', min: 60000, default: 86400000, env: 'NBWSS_NOTIFY_IMAGES_WINDOW_MS', flag: 'notify-images-window-ms',
    },
    maxBackoffMs: {
      doc: 'Longest wait before polling again a REST API that answers 503 (the waits grow from notifications.pollMs, and are never shorter; a Retry-After from the server wins)',
      format: 'nbw-uint', min: 100, default: 300000, env: 'NBWSS_NOTIFY_MAX_BACKOFF_MS', flag: 'notify-max-backoff-ms',
    },
  },
  heartbeat: {
    intervalMs: {
      doc: "NetBackup's keepAlive.scheduledRate: ping interval. A ping counts as missed when no pong came by the next one and nothing queued toward the cloud drained meanwhile (frames from the cloud do not count)",
      format: 'nbw-uint', min: 100, default: 30000, env: 'NBWSS_HEARTBEAT_MS', flag: 'heartbeat-ms',
    },
    maxMissedPongs: {
      doc: "NetBackup's keepAlive.maxPongMissAllowed: pings in a row that may go without a pong; one more and the connection is dropped and redialled",
      format: 'nbw-uint', min: 0, max: 100, default: 2, env: 'NBWSS_HEARTBEAT_MAX_MISSED_PONGS', flag: 'heartbeat-max-missed-pongs',
    },
  },
  shutdown: {
    graceMs: {
      doc: 'Time in-flight REST calls get to finish after SIGTERM or SIGINT',
      format: 'nbw-uint', min: 0, default: 10000, env: 'NBWSS_SHUTDOWN_GRACE_MS', flag: 'shutdown-grace-ms',
    },
  },
  protocol: {
    extensions: {
      doc: 'The bridge\'s additions to NBWSS: bodies that are not text travel as base64 ("bodyEncoding"), and the bridge\'s own error answers name their code (details.code, x-nbwss-bridge-error). Off: such bodies are answered 502 NBW_ERR_BODY_NOT_TEXT, and error answers are exactly {errorCode, errorMessage}',
      format: 'nbw-bool', default: true, env: 'NBWSS_PROTOCOL_EXTENSIONS', flag: 'protocol-extensions',
    },
  },
  log: {
    level: {
      doc: `Log level: ${LOG_LEVELS.join(', ')}`,
      format: 'nbw-level', default: 'info', env: 'NBWSS_LOG_LEVEL', flag: 'log-level',
    },
    format: {
      doc: `Log line format: ${LOG_FORMATS.join(', ')} (auto: pretty when standard output is a terminal, JSON otherwise, e.g. under systemd)`,
      format: 'nbw-log-format', default: 'auto', env: 'NBWSS_LOG_FORMAT', flag: 'log-format',
    },
  },
} as const satisfies Record<string, object>;

/** A leaf of the schema: a key with its format. */
interface Leaf {
  readonly format: keyof FormatTypes;
  readonly nullable?: boolean;
  readonly default: unknown;
}

/** The values of a schema node: each leaf's format's type (or null where it may be null). */
type ValuesOf<S> = S extends Leaf ? FormatTypes[S['format']] | (S extends { readonly nullable: true } ? null : never) : { -readonly [K in keyof S]: ValuesOf<S[K]> };

/** The notification types' switches (`notifications.<kind>`): the on/off keys of the notifications section. */
export const NOTIFICATION_SWITCHES: readonly string[] = Object.entries(schema.notifications).filter(([, v]) => v.format === 'nbw-bool').map(([k]) => k);

/** The raw values convict holds, before files are read and the result is frozen. */
export type RawConfig = ValuesOf<typeof schema>;

/** The schema as convict takes it. */
export const convictSchema = schema as unknown as convict.Schema<RawConfig>;
