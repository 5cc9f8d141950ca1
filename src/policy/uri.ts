// The one canonical reading of a uri from the cloud: split on "/", each segment percent-decoded
// once, anything a server could read two ways refused, and the path to send re-encoded from the
// checked segments, so the bytes the policy checked are the bytes the REST API receives.
//
// Refused in the path: no leading "/", a leading "//", a fragment, an empty segment inside the
// path, a backslash (raw or encoded), an encoded "/", a control character (raw or encoded,
// C0, DEL and C1), percent-escapes that are malformed or not UTF-8 (overlong forms included),
// a segment still holding a percent-escape once decoded (a server that decodes twice would
// read something else), a segment of only dots and spaces (".", "..", "...", ".. "), the same
// after Unicode compatibility folding (fullwidth and other dot look-alikes), and ";" path
// parameters unless the backend opts in (Tomcat reads "..;x" as ".."; with them allowed, the
// name before ";" is checked all the same).

/** A uri read into segments; `query` is the part after "?" (without it), or null. */
export interface ParsedUri {
  /** Decoded segments; `[]` for "/". */
  readonly segments: readonly string[];
  /** The path ends with "/" (after at least one segment). */
  readonly trailingSlash: boolean;
  /** The query as it will be sent (unsafe characters percent-encoded), or null. */
  readonly query: string | null;
  /** Some segment holds a ";" (path parameters, raw or encoded). */
  readonly parameters: boolean;
}

export type UriResult = { ok: true; uri: ParsedUri } | { ok: false; reason: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** A path made only of characters that need neither decoding nor encoding: the common case, checked in one pass. */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const STILL_ESCAPED = /%[0-9A-Fa-f]{2}/;
/** Characters left raw in a query; everything else is percent-encoded as UTF-8. */
const QUERY_UNSAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;
/** Dots that compatibility folding leaves alone but that some servers map to ".". */
const DOT_LIKE = /[\u3002\uff61\u2024\u2025\u2026\ufe52\u0701\u0702]/g;
const ONLY_DOTS_AND_SPACES = /^[.\s]+$/;
const ONLY_DOTS = /^\.+$/;
const ASCII = /^[\x00-\x7f]*$/;
/** Characters that render as nothing (zero-width spaces and joiners, variation selectors, BOM): a segment must mean what it shows. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** Slashes and backslashes that NFKC leaves alone but some code pages map to "/" or "\\". */
const SLASH_LIKE = /[\u2215\u2044\u29f8\u29f9\u2216\u244a\u1735\u2cfa\u3033]/;
const LONE_SURROGATE = /\p{Cs}/u;

const refuse = (reason: string): UriResult => ({ ok: false, reason });

function decodeSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Why a decoded segment (or its name before ";") is unsafe, or null. */
export function unsafeSegment(seg: string): string | null {
  if (CONTROL.test(seg)) return 'a control character';
  if (seg.includes('/')) return 'an encoded "/"';
  if (seg.includes('\\')) return 'a backslash';
  if (STILL_ESCAPED.test(seg)) return 'a percent-escape inside a percent-escape (encoded twice)';
  const name = nameOf(seg);
  if (ONLY_DOTS_AND_SPACES.test(name) || ONLY_DOTS_AND_SPACES.test(seg)) return `a dot segment ("${seg}")`;
  // Stryker disable next-line ConditionalExpression: a fast path: an ASCII segment folds to itself, and the checks below let it through
  if (ASCII.test(seg)) return null;
  // Beyond ASCII: what a server that folds Unicode (NFKC, or a code page's best fit) would read.
  if (INVISIBLE.test(seg)) return 'an invisible character';
  if (SLASH_LIKE.test(seg)) return 'a character that reads as "/" or "\\"';
  const folded = seg.normalize('NFKC').replace(DOT_LIKE, '.');
  // Stryker disable next-line ConditionalExpression: a fast path: the checks below repeat those above on the same string
  if (folded === seg) return null;
  if (folded.includes('/') || folded.includes('\\')) return 'a character that reads as "/" or "\\" once Unicode look-alikes are folded';
  if (STILL_ESCAPED.test(folded)) return 'characters that read as a percent-escape once Unicode look-alikes are folded';
  if (folded.includes(';') !== seg.includes(';')) return 'a character that reads as ";" once Unicode look-alikes are folded';
  if (ONLY_DOTS_AND_SPACES.test(nameOf(folded)) || ONLY_DOTS_AND_SPACES.test(folded)) return 'a segment that reads as dots once Unicode look-alikes are folded';
  return null;
}

/**
 * Reads a uri. A ";" inside a segment is read as the start of path parameters: the name
 * before it is checked like any segment, and `parameters` says one was seen (the policy
 * refuses it unless the backend allows path parameters).
 */
export function parseUri(uri: string): UriResult {
  if (!uri.startsWith('/')) return refuse('uri must be an origin-relative path starting with "/" (no scheme or host)');
  if (uri.startsWith('//')) return refuse('uri must not start with "//" (a host reference)');
  if (uri.includes('#')) return refuse('uri must not contain a fragment ("#")');
  if (CONTROL.test(uri)) return refuse('uri contains control characters');
  if (LONE_SURROGATE.test(uri)) return refuse('uri is not well-formed Unicode');
  const q = uri.indexOf('?');
  const rawPath = q === -1 ? uri : uri.slice(0, q);
  let query: string | null = null;
  if (q !== -1) {
    const rawQuery = uri.slice(q + 1);
    if (MALFORMED_ESCAPE.test(rawQuery)) return refuse('uri query has a malformed percent-escape');
    query = rawQuery.replace(QUERY_UNSAFE, (c) => encodeURIComponent(c));
  }
  const raw = rawPath.split('/');
  raw.shift();
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a path starting with "/" always leaves at least one part
  const trailingSlash = raw.length > 0 && raw[raw.length - 1] === '';
  if (trailingSlash) raw.pop();
  const plain = PLAIN_PATH.test(rawPath);
  // Stryker disable next-line ConditionalExpression,BooleanLiteral: a plain path has no backslash, and a decoded segment with one is refused with the same words
  if (!plain && rawPath.includes('\\')) return refuse('uri path contains a backslash');
  if (!plain && MALFORMED_ESCAPE.test(rawPath)) return refuse('uri path has a malformed percent-escape');
  const segments: string[] = [];
  let parameters = false;
  for (const r of raw) {
    if (r === '') return refuse('uri path contains an empty segment ("//")');
    const seg = plain ? r : decodeSegment(r);
    if (seg === null) return refuse('uri path has percent-escapes that are not UTF-8');
    // A plain segment holds no control character, "/", "\\", "%", ";", space or non-ASCII: of unsafeSegment's checks only the dots can fail.
    const why = plain ? (ONLY_DOTS.test(seg) ? `a dot segment ("${seg}")` : null) : unsafeSegment(seg);
    if (why) return refuse(`uri path contains ${why}`);
    if (seg.includes(';')) parameters = true;
    segments.push(seg);
  }
  return { ok: true, uri: { segments, trailingSlash, query, parameters } };
}

/** A segment's name: what comes before its ";" parameters. */
export function nameOf(seg: string): string {
  const semi = seg.indexOf(';');
  return semi === -1 ? seg : seg.slice(0, semi);
}

/** Characters encodeURIComponent escapes that are plain in a path segment (RFC 3986 pchar). */
const PCHAR_RESTORE: Record<string, string> = { '%24': '$', '%26': '&', '%2B': '+', '%2C': ',', '%3D': '=', '%3A': ':', '%40': '@', '%3B': ';' };
const RESTORABLE = /%(?:24|26|2B|2C|3D|3A|40|3B)/g;
const PLAIN_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,=:@;]*$/;

/** A decoded segment as it travels: percent-encoded as UTF-8 where it must be, plain elsewhere. */
export function encodeSegment(seg: string): string {
  return PLAIN_SEGMENT.test(seg) ? seg : encodeURIComponent(seg).replace(RESTORABLE, (e) => PCHAR_RESTORE[e] as string);
}

/** The path and query to send, built from the checked segments. */
export function formatUri(uri: ParsedUri, from = 0): string {
  let path = '';
  for (let i = from; i < uri.segments.length; i++) path += `/${encodeSegment(uri.segments[i] as string)}`;
  if (path === '' || uri.trailingSlash) path += '/';
  return uri.query === null ? path : `${path}?${uri.query}`;
}
