// The REST targets: `backends` from the config file (each with a mount, a policy and an auth
// profile), or one backend named "netbackup" made of the rest.* keys. Secrets are read here.
import { checkBool, checkFile, checkHostname, checkHttpUrl, checkMethodList, checkPathList, checkUint, RELAYABLE_METHODS, type RelayableMethod } from './formats.js';
import type { RawBackend } from './raw.js';
import type { RawConfig } from './schema.js';
import { resolveAuth, type ResolvedAuth } from '../backends/auth/registry.js';
import { readCa, type Env } from './files.js';

export type { RawBackend };
export type { ResolvedAuth as AuthConfig } from '../backends/auth/registry.js';

export interface BackendConfig {
  readonly name: string;
  /** Path prefix the cloud uses for this backend; "/" for none. */
  readonly mount: string;
  readonly baseUrl: string;
  readonly caFile: string | null;
  readonly ca: string | null;
  /** Name expected on the backend's certificate, when not baseUrl's host. */
  readonly servername: string | null;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly allowedPaths: readonly string[];
  readonly allowedMethods: readonly RelayableMethod[];
  /** Let ";" path parameters through (the name before ";" is still checked). */
  readonly allowPathParameters: boolean;
  readonly auth: ResolvedAuth;
}

const BACKEND_KEYS = ['name', 'mount', 'baseUrl', 'caFile', 'servername', 'timeoutMs', 'allowedPaths', 'allowedMethods', 'allowPathParameters', 'auth'];
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const MOUNT = /^\/(?:[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*)?$/;

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Runs a format's check, adding its complaint under `key`. */
function check(key: string, run: () => void, problems: string[]): void {
  try {
    run();
  } catch (err) {
    problems.push(`${key}: ${(err as Error).message}`);
  }
}

/** The mount a uri path reaches through: `uri` is `mount` itself or continues with "/" or "?". */
export function underMount(uri: string, mount: string): boolean {
  if (mount === '/') return uri.startsWith('/');
  return uri === mount || uri.startsWith(`${mount}/`) || uri.startsWith(`${mount}?`);
}

/** The backends of a configuration, with secrets and CAs read; problems name the entry and key. */
export function resolveBackends(raw: RawConfig, restCa: string | null, env: Env, problems: string[]): BackendConfig[] {
  if (raw.backends.length === 0) {
    return [{
      name: 'netbackup',
      mount: '/',
      baseUrl: raw.rest.baseUrl,
      caFile: raw.rest.caFile,
      ca: restCa,
      servername: raw.rest.servername,
      timeoutMs: raw.rest.timeoutMs,
      maxResponseBytes: raw.rest.maxResponseBytes,
      allowedPaths: raw.rest.allowedPaths,
      allowedMethods: [...new Set(raw.rest.allowedMethods.map((m) => m.toUpperCase() as RelayableMethod))],
      allowPathParameters: raw.rest.allowPathParameters,
      auth: { type: 'passthrough', values: {}, files: {} },
    }];
  }
  const out: BackendConfig[] = [];
  raw.backends.forEach((b: RawBackend, i) => {
    const where = `backends[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      problems.push(`${where}: must be an object`);
      return;
    }
    for (const k of Object.keys(b)) if (!BACKEND_KEYS.includes(k)) problems.push(`${where}: unknown key ${JSON.stringify(k)}`);
    const before = problems.length;
    if (!isString(b.name) || !NAME.test(b.name)) problems.push(`${where}.name: must be a short name of letters, digits, _ and -`);
    if (!isString(b.mount) || !MOUNT.test(b.mount) || /(^|\/)\.\.?(\/|$)/.test(b.mount)) problems.push(`${where}.mount: must be "/" or a path such as /veeam-em (no trailing slash)`);
    // The keys that rest.* also has are checked by the same formats.
    check(`${where}.baseUrl`, () => checkHttpUrl(b.baseUrl), problems);
    if (b.caFile !== undefined && b.caFile !== null) check(`${where}.caFile`, () => checkFile(b.caFile), problems);
    if (b.servername !== undefined && b.servername !== null) check(`${where}.servername`, () => checkHostname(b.servername), problems);
    if (b.timeoutMs !== undefined) check(`${where}.timeoutMs`, () => checkUint(b.timeoutMs, 1), problems);
    check(`${where}.allowedPaths`, () => checkPathList(b.allowedPaths), problems);
    const methods = b.allowedMethods ?? [...RELAYABLE_METHODS];
    check(`${where}.allowedMethods`, () => checkMethodList(methods), problems);
    if (b.allowPathParameters !== undefined) check(`${where}.allowPathParameters`, () => checkBool(b.allowPathParameters), problems);
    const caFile = isString(b.caFile) ? b.caFile : null;
    const ca = readCa(`${where}.caFile`, caFile, env, problems);
    const auth = resolveAuth(where, b.auth, env, problems);
    if (problems.length > before || auth === null) return;
    out.push({
      name: b.name as string,
      mount: b.mount as string,
      baseUrl: b.baseUrl as string,
      caFile,
      ca,
      servername: isString(b.servername) ? b.servername : null,
      timeoutMs: (b.timeoutMs as number | undefined) ?? raw.rest.timeoutMs,
      maxResponseBytes: raw.rest.maxResponseBytes,
      allowedPaths: b.allowedPaths as string[],
      allowedMethods: [...new Set((methods as string[]).map((m) => m.toUpperCase() as RelayableMethod))],
      allowPathParameters: b.allowPathParameters === true,
      auth,
    });
  });
  checkMounts(out, problems);
  return out;
}

/** Names and mounts are unique, and no backend's allowed paths reach into another's mount. */
function checkMounts(backends: readonly BackendConfig[], problems: string[]): void {
  const names = new Set<string>();
  const mounts = new Map<string, string>();
  for (const b of backends) {
    if (names.has(b.name)) problems.push(`backends: the name ${b.name} is used twice`);
    names.add(b.name);
    const other = mounts.get(b.mount);
    if (other) problems.push(`backends: ${other} and ${b.name} both mount ${b.mount}; a uri there would reach two backends`);
    mounts.set(b.mount, b.name);
  }
  for (const outer of backends) {
    for (const inner of backends) {
      if (outer === inner || inner.mount === outer.mount || !underMount(inner.mount, outer.mount)) continue;
      // A uri under inner's mount goes to inner; outer must not also allow paths there.
      const rest = outer.mount === '/' ? inner.mount : inner.mount.slice(outer.mount.length);
      for (const p of outer.allowedPaths) {
        if (p.startsWith(`${rest}/`) || p === rest || `${rest}/`.startsWith(p)) {
          problems.push(`backends: ${outer.name} allows ${p} under its mount ${outer.mount}, which reaches into ${inner.name}'s mount ${inner.mount}; a uri there would reach two backends`);
        }
      }
    }
  }
}
