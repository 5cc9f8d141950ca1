// The formats of configuration values, registered with convict once and exported as checks,
// so that the entries of lists (backends, endpoints) are checked by the same rules as the keys
// of the schema. Each format also names the TypeScript type of its values (FormatTypes), from
// which the configuration's type is derived (see schema.ts).
import type { SchemaObj } from 'convict';
import { requireConvict } from '../packages.js';
import type { RawBackend, RawEndpoint } from './raw.js';

const convict = requireConvict();

/** Methods the policy can allow. */
export const RELAYABLE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type RelayableMethod = (typeof RELAYABLE_METHODS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log lines are written: JSON, human-readable, or pretty when standard output is a terminal. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The type of the values of each format. */
export interface FormatTypes {
  'nbw-uint': number;
  'nbw-bool': boolean;
  'nbw-path-list': string[];
  'nbw-method-list': string[];
  'nbw-ws-url': string;
  'nbw-http-url': string;
  'nbw-proxy-url': string;
  'nbw-endpoints': RawEndpoint[];
  'nbw-backends': RawBackend[];
  'nbw-listen': string;
  'nbw-file': string;
  'nbw-secret': string;
  'nbw-level': LogLevel;
  'nbw-log-format': LogFormat;
  'nbw-hostname': string;
}

convict.addFormat({
  name: 'nbw-backends',
  validate(v: unknown) {
    if (!Array.isArray(v)) throw new Error('must be a list of {name, mount, baseUrl, caFile, timeoutMs, allowedPaths, allowedMethods, allowPathParameters, auth}');
  },
});

const isString = (v: unknown): v is string => typeof v === 'string';

/** Trims a string value from the environment or a flag; a value that is not a string stays as it is. */
const trimmed = (v: unknown) => (isString(v) ? v.trim() : v);

/** A whole number from min to max. */
export function checkUint(v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new Error(max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`);
  }
}

convict.addFormat({
  name: 'nbw-uint',
  coerce: (v: unknown) => (isString(v) && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  validate(v: unknown, schema: SchemaObj) {
    checkUint(v, typeof schema.min === 'number' ? schema.min : 0, typeof schema.max === 'number' ? schema.max : Number.MAX_SAFE_INTEGER);
  },
});

convict.addFormat({
  name: 'nbw-bool',
  coerce(v: unknown) {
    if (!isString(v)) return v;
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    return v;
  },
  validate: (v: unknown) => checkBool(v),
});

export function checkBool(v: unknown): void {
  if (typeof v !== 'boolean') throw new Error('must be true or false');
}

/** A list from the environment or a flag: comma-separated, blanks dropped. */
const commaList = (v: unknown) => (isString(v) ? v.split(',').map((s) => s.trim()).filter(Boolean) : v);

convict.addFormat({
  name: 'nbw-path-list',
  coerce: commaList,
  validate: (v: unknown) => checkPathList(v),
});

/** A non-empty list of plain absolute paths (no dot segments, query, fragment, escapes or spaces). */
export function checkPathList(v: unknown): void {
  if (!Array.isArray(v) || v.length === 0) throw new Error('must be a non-empty list of paths');
  for (const p of v) {
    if (!isString(p) || !p.startsWith('/') || p.startsWith('//') || /[\s\\?#%]|\/\.\.?(\/|$)/.test(p)) {
      throw new Error(`each path must be a plain absolute path such as /netbackup/, got ${JSON.stringify(p)}`);
    }
  }
}

convict.addFormat({
  name: 'nbw-method-list',
  coerce: commaList,
  validate: (v: unknown) => checkMethodList(v),
});

/** A non-empty list of the methods the policy can allow. */
export function checkMethodList(v: unknown): void {
  if (!Array.isArray(v) || v.length === 0) throw new Error('must be a non-empty list of HTTP methods');
  for (const m of v) {
    if (!isString(m) || !(RELAYABLE_METHODS as readonly string[]).includes(m.toUpperCase())) {
      throw new Error(`each method must be one of ${RELAYABLE_METHODS.join(', ')}, got ${JSON.stringify(m)}`);
    }
  }
}

function checkUrl(v: unknown, protocols: readonly string[], credentialsAllowed = false): void {
  if (!isString(v)) throw new Error(`must be a ${protocols.join(' or ')} URL`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new Error(`must be a ${protocols.join(' or ')} URL`);
  }
  if (!protocols.includes(url.protocol.slice(0, -1))) throw new Error(`must be a ${protocols.join(' or ')} URL`);
  if (!credentialsAllowed && (url.username || url.password)) throw new Error('must not carry credentials; use the token settings');
}

convict.addFormat({
  name: 'nbw-ws-url',
  coerce: trimmed,
  validate: (v: unknown) => checkWsUrl(v),
});

/** A cloud endpoint URL: ws or wss, no credentials, no fragment (a WebSocket URL cannot have one). */
export function checkWsUrl(v: unknown): void {
  checkUrl(v, ['ws', 'wss']);
  if (new URL(v as string).hash !== '' || (v as string).includes('#')) throw new Error('must not have a fragment ("#")');
}

convict.addFormat({
  name: 'nbw-http-url',
  coerce: trimmed,
  validate: (v: unknown) => checkHttpUrl(v),
});

/** A REST API's base URL: http or https, no credentials, query or fragment. */
export function checkHttpUrl(v: unknown): void {
  checkUrl(v, ['http', 'https']);
  const url = new URL(v as string);
  if (url.search || url.hash) throw new Error('must not have a query or fragment');
}

convict.addFormat({
  name: 'nbw-endpoints',
  validate(v: unknown) {
    if (!Array.isArray(v)) throw new Error('must be a list of {url, token | tokenFile, groupId, priority, hostName}');
    v.forEach((e: unknown, i: number) => checkEndpoint(e, `[${i}]`));
  },
});

/** The keys of an endpoint entry: NetBackup's (`url`, `token`, `groupId`, `priority`, `hostName`) and ours. */
export const ENDPOINT_KEYS = ['url', 'token', 'tokenFile', 'groupId', 'group', 'priority', 'hostName'] as const;

/** A group as written (`"east"`, or a number such as 1) as the name the bridge uses; null when it is neither. */
export function groupName(v: unknown): string | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? String(v) : null;
  return isString(v) && /^[\w.-]{1,64}$/.test(v) ? v : null;
}

/** Checks the shape of one endpoint; the URL itself is checked like cloud.url. */
export function checkEndpoint(e: unknown, where: string): void {
  const o = e as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${where} must be an object`);
  for (const k of Object.keys(o)) {
    if (!(ENDPOINT_KEYS as readonly string[]).includes(k)) {
      throw new Error(`${where} has an unknown key ${JSON.stringify(k)} (known: ${ENDPOINT_KEYS.join(', ')})`);
    }
  }
  try {
    checkWsUrl(o.url);
  } catch (err) {
    throw new Error(`${where}.url ${(err as Error).message}`);
  }
  if ((o.token === undefined) === (o.tokenFile === undefined)) throw new Error(`${where} needs exactly one of token and tokenFile`);
  if (o.token !== undefined && (!isString(o.token) || o.token.trim() === '')) throw new Error(`${where}.token must be a non-empty string`);
  if (o.tokenFile !== undefined && (!isString(o.tokenFile) || o.tokenFile === '')) throw new Error(`${where}.tokenFile must be a file path`);
  for (const k of ['groupId', 'group'] as const) {
    if (o[k] !== undefined && groupName(o[k]) === null) throw new Error(`${where}.${k} must be a name of letters, digits, _ . - (at most 64), or a whole number`);
  }
  if (o.groupId !== undefined && o.group !== undefined && groupName(o.groupId) !== groupName(o.group)) {
    throw new Error(`${where} has groupId ${JSON.stringify(o.groupId)} and group ${JSON.stringify(o.group)}; group is an alias of groupId, give one`);
  }
  if (o.priority !== undefined && (typeof o.priority !== 'number' || !Number.isSafeInteger(o.priority) || o.priority < 0)) {
    throw new Error(`${where}.priority must be a whole number of at least 0 (lower is preferred)`);
  }
  if (o.hostName !== undefined && (!isString(o.hostName) || o.hostName.trim() === '' || /[\s/@]/.test(o.hostName))) {
    throw new Error(`${where}.hostName must be a host name such as cloud.example.com`);
  }
}

convict.addFormat({
  name: 'nbw-proxy-url',
  coerce: trimmed,
  validate(v: unknown) {
    checkUrl(v, ['http', 'https'], true);
    const url = new URL(v as string);
    if (url.pathname !== '/' || url.search || url.hash) throw new Error('must be a proxy URL such as http://proxy.corp:3128');
  },
});

convict.addFormat({
  name: 'nbw-listen',
  coerce: trimmed,
  validate(v: unknown) {
    if (!isString(v) || !/^(?:\[[0-9a-fA-F:.]+\]|[\w.-]*):\d{1,5}$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) > 65535) {
      throw new Error('must be host:port, e.g. 127.0.0.1:9464');
    }
  },
});

convict.addFormat({
  name: 'nbw-file',
  coerce: trimmed,
  validate: (v: unknown) => checkFile(v),
});

export function checkFile(v: unknown): void {
  if (!isString(v) || v.length === 0) throw new Error('must be a file path');
}

convict.addFormat({
  name: 'nbw-secret',
  validate(v: unknown) {
    if (!isString(v) || v.trim().length === 0) throw new Error('must be a non-empty string');
  },
});

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A DNS name as a certificate holds it (no scheme, port or path). */
export function checkHostname(v: unknown): void {
  if (!isString(v) || !HOSTNAME.test(v)) throw new Error('must be a host name such as nbu-primary.example.com (no scheme, port or path)');
}

convict.addFormat({
  name: 'nbw-hostname',
  coerce: trimmed,
  validate: (v: unknown) => checkHostname(v),
});

convict.addFormat({
  name: 'nbw-log-format',
  coerce: (v: unknown) => (isString(v) ? v.trim().toLowerCase() : v),
  validate(v: unknown) {
    if (!isString(v) || !(LOG_FORMATS as readonly string[]).includes(v)) throw new Error(`must be one of ${LOG_FORMATS.join(', ')}`);
  },
});

convict.addFormat({
  name: 'nbw-level',
  coerce: (v: unknown) => (isString(v) ? v.trim().toLowerCase() : v),
  validate(v: unknown) {
    if (!isString(v) || !(LOG_LEVELS as readonly string[]).includes(v)) {
      throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
    }
  },
});
