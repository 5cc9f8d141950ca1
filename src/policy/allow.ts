// Which COMMAND REQUESTs may reach the REST API: the method, and a uri that is a plain
// origin-relative path under one of the operator's allowed prefixes.
import { AnsweredError } from '../errors.js';

export interface PolicyOptions {
  /** Path prefixes; one ending in "/" matches everything under it, one without matches itself and below. */
  allowedPaths: readonly string[];
  allowedMethods: readonly string[];
}

/** The outcome of a policy check: the path to request (normalized), or the refusal to answer. */
export type PolicyResult = { ok: true; path: string } | { ok: false; error: AnsweredError };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// Characters undici refuses in a path or that must not travel raw: space, quotes, angle brackets, backtick, non-ASCII.
const NEEDS_ENCODING = /[ "<>`\u{80}-\u{10ffff}]/gu;
const HAS_UNSAFE_CHAR = /[ "<>`\u{80}-\u{10ffff}]/u;
/** Anything unsafePath would name: one scan for the common case of a clean path. */
// eslint-disable-next-line no-control-regex
const SUSPICIOUS = /[\u0000-\u001f\u007f\\]|\/\/|(?:^|\/)\.\.?(?:\/|$)/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/** How many rounds of percent-decoding are checked: a server that decodes twice still stays inside. */
const DECODE_ROUNDS = 3;

const refuse = (message: string): PolicyResult => ({ ok: false, error: new AnsweredError('NBW_ERR_POLICY_URI', message) });

/** Percent-encodes what cannot travel raw in a request line, as UTF-8; everything else stays as given. */
export function encodeUnsafe(uri: string): string {
  return HAS_UNSAFE_CHAR.test(uri) ? uri.replace(NEEDS_ENCODING, (c) => encodeURIComponent(c)) : uri;
}

/** Why a form of the path (raw or decoded) is unsafe, or null. */
function unsafePath(path: string): string | null {
  if (!SUSPICIOUS.test(path)) return null;
  if (CONTROL.test(path)) return 'control characters';
  if (path.includes('\\')) return 'a backslash';
  if (path.startsWith('//') || path.includes('//')) return 'an empty segment ("//")';
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') return `a "${seg}" segment`;
  }
  return null;
}

function decodeOnce(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function underPrefix(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(`${p}/`)));
}

/** A compiled policy. */
export class Policy {
  readonly #paths: readonly string[];
  readonly #methods: ReadonlySet<string>;

  constructor(opts: PolicyOptions) {
    this.#paths = [...opts.allowedPaths];
    this.#methods = new Set(opts.allowedMethods.map((m) => m.toUpperCase()));
  }

  /** Checks a method and uri; on success returns the path to send, with unsafe characters percent-encoded. */
  check(method: string, uri: string): PolicyResult {
    if (!this.#methods.has(method)) {
      return {
        ok: false,
        error: new AnsweredError('NBW_ERR_POLICY_METHOD', `method ${method} is not allowed (allowed: ${[...this.#methods].join(', ')})`),
      };
    }
    return this.checkUri(uri);
  }

  /** Checks a uri alone. */
  checkUri(uri: string): PolicyResult {
    if (CONTROL.test(uri)) return refuse('uri contains control characters');
    if (!uri.startsWith('/')) return refuse('uri must be an origin-relative path starting with "/" (no scheme or host)');
    if (uri.startsWith('//')) return refuse('uri must not start with "//" (a host reference)');
    if (uri.includes('#')) return refuse('uri must not contain a fragment ("#")');
    let encoded: string;
    try {
      encoded = encodeUnsafe(uri);
    } catch {
      return refuse('uri is not well-formed Unicode');
    }
    const q = encoded.indexOf('?');
    const rawPath = q === -1 ? encoded : encoded.slice(0, q);
    if (MALFORMED_ESCAPE.test(encoded)) return refuse('uri has a malformed percent-escape');

    const escaped = rawPath.includes('%');
    const decoded = escaped ? decodeOnce(rawPath) : rawPath;
    if (decoded === null) return refuse('uri path has percent-escapes that are not UTF-8');
    let form = rawPath;
    for (let round = 0; round <= (escaped ? DECODE_ROUNDS : 0); round++) {
      const why = unsafePath(form);
      if (why) return refuse(`uri path contains ${why}${round ? ' once percent-decoded' : ''}`);
      const next = decodeOnce(form);
      if (next === null || next === form) break;
      form = next;
    }
    if (!underPrefix(rawPath, this.#paths) || !underPrefix(decoded, this.#paths)) {
      return refuse(`uri path is outside the allowed paths (${this.#paths.join(', ')})`);
    }
    return { ok: true, path: encoded };
  }
}
