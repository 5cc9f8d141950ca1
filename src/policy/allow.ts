// Which COMMAND REQUESTs may reach a REST API: the method that is sent, and a uri whose
// canonical segments (see uri.ts) lie under one of the operator's allowed prefixes. The path
// returned is built from those same segments: what was checked is what is sent.
import { AnsweredError } from '../errors.js';
import { formatUri, nameOf, parseUri, type ParsedUri } from './uri.js';

export interface PolicyOptions {
  /** Path prefixes; one ending in "/" matches everything under it, one without matches itself and below. */
  allowedPaths: readonly string[];
  allowedMethods: readonly string[];
  /** Allow ";" path parameters in segments (off: refused, since servers such as Tomcat read "..;x" as ".."). */
  allowPathParameters?: boolean;
}

/** The outcome of a policy check: the path and query to request, or the refusal to answer. */
export type PolicyResult = { ok: true; path: string } | { ok: false; error: AnsweredError };

interface Prefix {
  readonly segments: readonly string[];
  /** Written with a trailing "/": matches only what is below it. */
  readonly dir: boolean;
}

const refuseUri = (message: string): PolicyResult => ({ ok: false, error: new AnsweredError('NBW_ERR_POLICY_URI', message) });

function compilePrefix(p: string): Prefix {
  const dir = p.endsWith('/');
  return { segments: p.split('/').filter((s) => s !== ''), dir };
}

/** True when `uri`'s segments from `from` on lie under `prefix` (compared by name, without parameters). */
function under(uri: ParsedUri, from: number, prefix: Prefix): boolean {
  const segs = uri.segments;
  const n = prefix.segments.length;
  const have = segs.length - from;
  if (have < n) return false;
  for (let i = 0; i < n; i++) if (nameOf(segs[from + i] as string) !== prefix.segments[i]) return false;
  return prefix.dir ? have > n || uri.trailingSlash : true;
}

/** A compiled policy. */
export class Policy {
  readonly #paths: readonly string[];
  readonly #prefixes: readonly Prefix[];
  readonly #methods: ReadonlySet<string>;
  readonly #pathParameters: boolean;

  constructor(opts: PolicyOptions) {
    this.#paths = [...opts.allowedPaths];
    this.#prefixes = opts.allowedPaths.map(compilePrefix);
    this.#methods = new Set(opts.allowedMethods.map((m) => m.toUpperCase()));
    this.#pathParameters = opts.allowPathParameters ?? false;
  }

  /** Refuses a method that is not allowed; null when it is. */
  checkMethod(method: string): AnsweredError | null {
    if (this.#methods.has(method)) return null;
    return new AnsweredError('NBW_ERR_POLICY_METHOD', `method ${method} is not allowed (allowed: ${[...this.#methods].join(', ')})`);
  }

  /** Checks a method and a uri; on success returns the canonical path and query to send. */
  check(method: string, uri: string): PolicyResult {
    const m = this.checkMethod(method);
    if (m) return { ok: false, error: m };
    return this.checkUri(uri);
  }

  /** Checks a uri alone. */
  checkUri(uri: string): PolicyResult {
    const parsed = parseUri(uri);
    return parsed.ok ? this.checkParsed(parsed.uri, 0) : refuseUri(parsed.reason);
  }

  /** Checks an already parsed uri from segment `from` on (what follows a backend's mount). */
  checkParsed(uri: ParsedUri, from: number): PolicyResult {
    if (uri.parameters && !this.#pathParameters) {
      return refuseUri('uri path contains a ";" path parameter (allowed only where the backend sets allowPathParameters)');
    }
    if (!this.#prefixes.some((p) => under(uri, from, p))) {
      return refuseUri(`uri path is outside the allowed paths (${this.#paths.join(', ')})`);
    }
    return { ok: true, path: formatUri(uri, from) };
  }
}
