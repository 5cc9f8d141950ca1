// Keeps the bridge's own credentials out of answers from a backend it signs for: response
// headers pass an allowlist, and any byte sequence equal to a secret in use (password, API key,
// token, session id, cookie; raw, JSON-escaped or percent-encoded) is replaced, in headers and
// in the body, text or binary.
import type { CommandResponsePayload } from '../protocol/envelope.js';

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not searched for: they would shred ordinary text. check-config warns about them. */
export const MIN_SECRET_LENGTH = 4;

/** The forms a secret may take in an answer that echoes it. */
function forms(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    out.add(s);
    out.add(JSON.stringify(s).slice(1, -1));
    out.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, needles: readonly string[]): { text: string; hits: number } {
  let hits = 0;
  for (const n of needles) {
    if (!text.includes(n)) continue;
    const parts = text.split(n);
    hits += parts.length - 1;
    text = parts.join(REDACTED);
  }
  return { text, hits };
}

/** What filtering an answer did. */
export interface Scrubbed {
  res: CommandResponsePayload;
  /** Secrets replaced. */
  hits: number;
  /** Headers dropped by the allowlist. */
  dropped: string[];
}

/** Filters the headers of `res` by `allow` and replaces every form of `secrets` in what is left and in the body. */
export function scrub(res: CommandResponsePayload, allow: ReadonlySet<string>, secrets: readonly string[]): Scrubbed {
  const needles = forms(secrets);
  let hits = 0;
  const dropped: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (!allow.has(name)) {
      dropped.push(name);
      continue;
    }
    const r = replaceAll(value, needles);
    hits += r.hits;
    headers[name] = r.text;
  }
  let body = res.body;
  if (needles.length > 0 && body.length > 0) {
    if (res.bodyEncoding === 'base64') {
      // Bytes as latin1 text: one character per byte, so a secret's UTF-8 bytes are found wherever they are.
      const bytes = Buffer.from(body, 'base64').toString('latin1');
      const r = replaceAll(bytes, needles.map((n) => Buffer.from(n, 'utf8').toString('latin1')));
      if (r.hits > 0) body = Buffer.from(r.text, 'latin1').toString('base64');
      hits += r.hits;
    } else {
      const r = replaceAll(body, needles);
      body = r.text;
      hits += r.hits;
    }
  }
  return { res: { ...res, headers, body }, hits, dropped };
}
