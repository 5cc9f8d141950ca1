// How a REST response body travels in a COMMAND RESPONSE: as text when it is text, as base64
// otherwise, so binary data is never corrupted.
import { isUtf8 } from 'node:buffer';

export interface EncodedBody {
  body: string;
  bodyEncoding?: 'base64';
}

const TEXT_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/x-www-form-urlencoded',
  'application/x-ndjson',
  'application/yaml',
  'application/x-yaml',
]);

/** True when a media type is textual: text/*, JSON, XML and their structured-syntax suffixes. */
export function isTextMediaType(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    TEXT_TYPES.has(mediaType) ||
    mediaType.endsWith('+json') ||
    mediaType.endsWith('+xml') ||
    mediaType.endsWith('+yaml')
  );
}

function parseContentType(value: string | undefined): { mediaType: string; charset: string | null } {
  if (!value) return { mediaType: '', charset: null };
  const [type = '', ...params] = value.split(';');
  let charset: string | null = null;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq !== -1 && p.slice(0, eq).trim().toLowerCase() === 'charset') {
      charset = p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase();
    }
  }
  return { mediaType: type.trim().toLowerCase(), charset };
}

const UTF8 = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

const base64 = (buf: Buffer): EncodedBody => ({ body: buf.toString('base64'), bodyEncoding: 'base64' });

/**
 * Encodes a response body for the envelope. Text (by content type, or valid UTF-8 when the
 * type is missing) becomes a UTF-8 string; a declared non-UTF-8 charset is transcoded;
 * anything else, anything compressed and anything that does not decode cleanly is base64.
 */
export function encodeBody(buf: Buffer, contentType: string | undefined, contentEncoding: string | undefined): EncodedBody {
  if (buf.length === 0) return { body: '' };
  if (contentEncoding && contentEncoding.trim().toLowerCase() !== 'identity') return base64(buf);
  const { mediaType, charset } = parseContentType(contentType);
  if (mediaType !== '' && !isTextMediaType(mediaType)) return base64(buf);
  if (charset === null || UTF8.has(charset)) {
    return isUtf8(buf) ? { body: buf.toString('utf8') } : base64(buf);
  }
  try {
    return { body: new TextDecoder(charset, { fatal: true }).decode(buf) };
  } catch {
    return base64(buf);
  }
}
