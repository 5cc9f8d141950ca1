// Every auth profile (listed in all.ts), and what is derived from their declarations: the config
// keys each takes (secret files read and checked), the headers a cloud may not send where the
// bridge signs, the names redacted in logs and check-config, and the response headers a signing
// backend may return. Nothing here is listed by hand per profile.
import { readSecret, expandPath, type Env } from '../../config/files.js';
import * as all from './all.js';
import type { AuthValues, ProfileSpec } from './profile.js';

/** The default first (a backend without `auth` passes the cloud's credentials through), then by type. */
const ALL: readonly ProfileSpec[] = (Object.values(all) as ProfileSpec[]).sort((a, b) =>
  a.type === 'passthrough' ? -1 : b.type === 'passthrough' ? 1 : a.type.localeCompare(b.type));

/** The profiles by type. */
export const PROFILES: ReadonlyMap<string, ProfileSpec> = new Map(ALL.map((p) => [p.type, p]));

export const AUTH_TYPES: readonly string[] = ALL.map((p) => p.type);

/** Request headers that carry credentials: where the bridge signs, the cloud's values for them never go through. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization', ...ALL.flatMap((p) => p.sets.headers)]);

/** Names that hold secrets wherever they appear: the values secret files are read into, credential headers, body fields. */
export const SECRET_NAMES: readonly string[] = [
  ...new Set([
    ...ALL.flatMap((p) => Object.values(p.keys).flatMap((k) => (k.secret ? [k.secret] : []))),
    ...CREDENTIAL_HEADERS,
    ...ALL.flatMap((p) => p.sets.body ?? []),
  ]),
];

/**
 * Response headers any signing backend may return: representation, caching, redirection and
 * retry metadata. Anything else (session headers, cookies, reflected request headers) stays
 * with the bridge unless the profile declares it.
 */
export const COMMON_RESPONSE_HEADERS: readonly string[] = [
  'content-type', 'content-language', 'content-encoding', 'content-disposition', 'content-range', 'content-location',
  'accept-ranges', 'etag', 'last-modified', 'cache-control', 'expires', 'pragma', 'vary', 'date', 'age',
  'location', 'retry-after', 'link', 'allow', 'www-authenticate',
];

/** The response headers a backend signed by `type` may pass to the cloud, or null when it does not sign (everything end-to-end passes). */
export function responseAllowlist(type: string): ReadonlySet<string> | null {
  const p = PROFILES.get(type);
  if (!p?.signs) return null;
  return new Set([...COMMON_RESPONSE_HEADERS, ...(p.returns ?? [])]);
}

/** A backend's auth settings once read. */
export interface ResolvedAuth {
  readonly type: string;
  /** Plain values by key, and secrets by the name their declaration gives. */
  readonly values: AuthValues;
  /** Secret file keys to the paths they named (expanded), for permission checks. */
  readonly files: Readonly<Record<string, string>>;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function httpUrl(v: string): boolean {
  // Stryker disable BlockStatement: an empty catch returns undefined, as false as false
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
  // Stryker restore BlockStatement
}

/** Reads `backends[i].auth` by its profile's declaration; problems name the key. */
export function resolveAuth(where: string, raw: unknown, env: Env, problems: string[]): ResolvedAuth | null {
  const auth = (raw ?? { type: 'passthrough' }) as Record<string, unknown>;
  if (typeof auth !== 'object' || Array.isArray(auth)) {
    problems.push(`${where}.auth: must be an object with a type`);
    return null;
  }
  const type = auth.type ?? 'passthrough';
  // Stryker disable next-line ConditionalExpression: no profile is named by anything but a string
  const spec = typeof type === 'string' ? PROFILES.get(type) : undefined;
  if (!spec) {
    problems.push(`${where}.auth.type: must be one of ${AUTH_TYPES.join(', ')}, got ${JSON.stringify(typeof type === 'string' ? type.slice(0, 40) : typeof type)}`);
    return null;
  }
  const before = problems.length;
  for (const k of Object.keys(auth)) {
    if (k !== 'type' && !(k in spec.keys)) problems.push(`${where}.auth: unknown key ${JSON.stringify(k.slice(0, 40))} for auth type ${spec.type} (it takes ${Object.keys(spec.keys).join(', ') || 'nothing else'})`);
  }
  const values: Record<string, string | null> = {};
  const files: Record<string, string> = {};
  for (const [key, k] of Object.entries(spec.keys)) {
    const v = auth[key];
    if (v !== undefined && !isString(v)) {
      problems.push(`${where}.auth.${key}: must be a non-empty string`);
      continue;
    }
    if (v === undefined && k.required) {
      problems.push(`${where}.auth.${key}: required for auth type ${spec.type}`);
      continue;
    }
    if (k.secret) {
      values[k.secret] = null;
      if (v === undefined) continue;
      // Stryker disable next-line ArrayDeclaration,ConditionalExpression: readSecret below reports the same path problem, and a backend with a problem is not used
      const path = expandPath(`${where}.auth.${key}`, v, env, []);
      // Stryker disable next-line ConditionalExpression: as above
      if (path !== null) files[key] = path;
      values[k.secret] = readSecret(`${where}.auth.${key}`, v, env, problems);
      continue;
    }
    const value = v ?? k.default ?? null;
    // Stryker disable next-line ConditionalExpression: a URL key always has a default, so its value is never null
    if (value !== null && k.url && !httpUrl(value)) problems.push(`${where}.auth.${key}: must be an http or https URL without credentials`);
    values[key] = value;
  }
  if (problems.length === before) spec.check?.(values, where, problems);
  return problems.length === before ? { type: spec.type, values, files } : null;
}

/** A backend's auth settings as check-config prints them: secret values replaced, file paths shown. */
export function redactAuth(auth: ResolvedAuth): Record<string, unknown> {
  const spec = PROFILES.get(auth.type);
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: a resolved auth always names a known profile; a name added for a key that is no secret matches no value
  const secretNames = new Set(Object.values(spec?.keys ?? {}).flatMap((k) => (k.secret ? [k.secret] : [])));
  const out: Record<string, unknown> = { type: auth.type };
  for (const [k, v] of Object.entries(auth.values)) out[k] = secretNames.has(k) ? (v === null ? null : '[redacted]') : v;
  for (const [k, path] of Object.entries(auth.files)) out[k] = path;
  return out;
}

/** Every secret value in `auth` (for checks that no answer carries one). */
export function configSecrets(auth: ResolvedAuth): string[] {
  const spec = PROFILES.get(auth.type);
  // Stryker disable next-line OptionalChaining: a resolved auth always names a known profile
  return Object.values(spec?.keys ?? {}).flatMap((k) => (k.secret && typeof auth.values[k.secret] === 'string' ? [auth.values[k.secret] as string] : []));
}
