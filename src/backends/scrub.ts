// Keeps the bridge's own credentials out of answers from a backend it signs for: response
// headers pass an allowlist, a compressed body is decompressed first, and any byte sequence
// equal to a secret in use (password, API key, token, session id, cookie) is replaced, in
// headers and body, text or binary, in the forms an echo takes: raw, JSON-escaped (also with
// \uXXXX and \/), percent-encoded (either case, "+" for space), HTML-escaped, base64 (standard
// and URL-safe, at any alignment), UTF-16 and Latin-1 bytes, and in any letter case for
// secrets of eight characters or more.
import { constants } from 'node:buffer';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { CommandResponsePayload } from '../protocol/envelope.js';
import { encodeBody } from '../protocol/body.js';
import { MIN_SECRET_LENGTH } from './auth/profile.js';

export const REDACTED = '[redacted]';

/** From this length a secret is also found in any letter case. */
const CASE_FOLD_LENGTH = 8;

const hex4 = (c: string, upper: boolean) => {
  const h = c.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The base64 characters that stand for `bytes` alone, wherever they start in a longer run. */
function base64Runs(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const from = Math.ceil((8 * offset) / 6);
    const to = Math.floor((8 * (offset + bytes.length)) / 6);
    const run = b64.slice(from, to);
    if (run.length >= MIN_SECRET_LENGTH) out.push(run, run.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return out;
}

/** The text forms a secret may take in an answer that echoes it. */
export function textForms(secret: string): string[] {
  const out = new Set<string>([secret]);
  const json = JSON.stringify(secret).slice(1, -1);
  out.add(json);
  out.add(json.replaceAll('/', '\\/'));
  // Go's encoding/json escapes <, > and & (lower-case hex); .NET's System.Text.Json also ', +, `, quotes and all non-ASCII (upper case).
  out.add(json.replace(/[<>&\u2028\u2029]/g, (c) => hex4(c, false)));
  out.add(json.replaceAll('\\"', '\\u0022').replace(/[<>&'+`]|[^\x00-\x7e]/g, (c) => hex4(c, true)));
  for (const upper of [false, true]) out.add(secret.replace(/[^A-Za-z0-9 ._~-]/g, (c) => hex4(c, upper)));
  const pct = encodeURIComponent(secret);
  out.add(pct);
  out.add(pct.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  out.add(new URLSearchParams({ s: secret }).toString().slice(2));
  out.add(secret.replace(/[&<>"']/g, (c) => HTML[c] as string));
  out.add(secret.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`));
  for (const run of base64Runs(Buffer.from(secret, 'utf8'))) out.add(run);
  return [...out].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** A matcher for every form of every secret, longest first so that a secret that contains another is replaced whole; null when there is nothing to look for. */
function matcher(secrets: readonly string[], binary: boolean): RegExp | null {
  const forms = new Set<string>();
  let fold = false;
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    if (s.length >= CASE_FOLD_LENGTH) fold = true;
    for (const f of textForms(s)) forms.add(binary ? Buffer.from(f, 'utf8').toString('latin1') : f);
    if (binary) {
      forms.add(Buffer.from(s, 'utf16le').toString('latin1'));
      forms.add(Buffer.from(s, 'latin1').toString('latin1'));
    }
  }
  if (forms.size === 0) return null;
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(alternatives.join('|'), fold ? 'gi' : 'g');
}

function replace(text: string, re: RegExp | null): { text: string; hits: number } {
  if (re === null) return { text, hits: 0 };
  let hits = 0;
  const out = text.replace(re, () => {
    hits++;
    return REDACTED;
  });
  return { text: out, hits };
}

/** What filtering an answer did. */
export interface Scrubbed {
  res: CommandResponsePayload;
  /** Secrets replaced. */
  hits: number;
  /** Headers dropped by the allowlist. */
  dropped: string[];
}

/** A compressed body, decompressed (at most `maxBytes`); null when it cannot be. */
function decompress(body: Buffer, encoding: string, maxBytes: number): Buffer | null {
  const opts = { maxOutputLength: Math.min(maxBytes, constants.MAX_LENGTH) };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, opts);
    if (encoding === 'deflate') return inflateSync(body, opts);
    if (encoding === 'br') return brotliDecompressSync(body, opts);
  } catch {
    return null;
  }
  return null;
}

/**
 * Filters the headers of `res` by `allow` and replaces every form of `secrets` in what is left
 * and in the body. A compressed body is decompressed (up to `maxBytes`) so that it can be
 * checked; one that cannot be is withheld: the result is null and the caller answers an error.
 */
export function scrub(res: CommandResponsePayload, allow: ReadonlySet<string>, secrets: readonly string[], maxBytes = Number.MAX_SAFE_INTEGER): Scrubbed | null {
  const text = matcher(secrets, false);
  let hits = 0;
  const dropped: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (!allow.has(name)) {
      dropped.push(name);
      continue;
    }
    const r = replace(value, text);
    hits += r.hits;
    headers[name] = r.text;
  }
  let payload: CommandResponsePayload = { ...res, headers };
  const encoding = res.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity' && res.body.length > 0) {
    const plain = decompress(Buffer.from(res.body, 'base64'), encoding, maxBytes);
    if (plain === null) return null;
    delete headers['content-encoding'];
    payload = { headers, responseCode: res.responseCode, ...encodeBody(plain, headers['content-type'], undefined) };
  }
  if (payload.body.length > 0) {
    if (payload.bodyEncoding === 'base64') {
      // Bytes as latin1 text: one character per byte, so a secret's bytes are found wherever they are.
      const bytes = Buffer.from(payload.body, 'base64').toString('latin1');
      const r = replace(bytes, matcher(secrets, true));
      if (r.hits > 0) payload = { ...payload, body: Buffer.from(r.text, 'latin1').toString('base64') };
      hits += r.hits;
    } else {
      const r = replace(payload.body, text);
      if (r.hits > 0) payload = { ...payload, body: r.text };
      hits += r.hits;
    }
  }
  return { res: payload, hits, dropped };
}
