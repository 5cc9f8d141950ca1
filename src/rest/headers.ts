// Which headers cross the bridge: hop-by-hop and framing headers describe one HTTP hop, not the
// resource, and stay behind in both directions.

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

/** Headers the bridge itself owns on the REST hop: the encoding of the body it reads. */
const REQUEST_OWNED = new Set(['accept-encoding', 'expect']);

/**
 * Headers that would make a REST API or a proxy in front of it read another method, path or
 * host than the policy checked, or trust a client address the bridge did not see: never
 * forwarded from the cloud. Compared with "_" read as "-" (some servers do).
 */
export const OVERRIDE_HEADERS: readonly string[] = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-original-host',
  'x-host',
  'x-http-host-override',
  'forwarded',
  'x-forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
];
const OVERRIDES = new Set(OVERRIDE_HEADERS);
const isOverride = (name: string) => {
  const n = name.includes('_') ? name.replaceAll('_', '-') : name;
  return OVERRIDES.has(n) || n.startsWith('x-forwarded-');
};

/**
 * Names listed in a Connection header are hop-by-hop too (RFC 9110, 7.6.1). Null when it lists
 * none beyond what is hop-by-hop anyway: "keep-alive" and "close", what nearly every message says.
 */
function connectionListed(value: string | undefined): Set<string> | null {
  if (value === undefined || value === '' || value === 'keep-alive' || value === 'close') return null;
  const out = new Set<string>();
  for (const name of value.split(',')) {
    const n = name.trim().toLowerCase();
    if (n) out.add(n);
  }
  return out;
}

/**
 * Adds a header to a plain object (a plain object serializes and iterates faster than one
 * without a prototype); a repeated name is joined with `sep`. A name such as `__proto__` or
 * `constructor` becomes an own property like any other, never the object's prototype.
 */
function put(out: Record<string, string>, name: string, value: string, sep: string): void {
  if (Object.hasOwn(out, name)) out[name] = `${out[name]}${sep}${value}`;
  else if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

const isHopByHop = (name: string) => HOP_BY_HOP.has(name) || name.startsWith('proxy-');

/**
 * The envelope's headers as sent to the REST API: lower-case names; hop-by-hop (including the
 * names every Connection header lists), method-override, URL-rewrite and forwarding headers
 * dropped; repeated names (differing only in case) joined with ", ".
 */
export function requestHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  let connection: string | undefined;
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    const value = headers[name] as string;
    if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
    if (isHopByHop(lower) || REQUEST_OWNED.has(lower) || isOverride(lower)) continue;
    put(out, lower, value, ', ');
  }
  const listed = connectionListed(connection);
  if (listed) for (const name of listed) delete out[name];
  return out;
}

/**
 * Headers whose values cannot be joined with ", " and split again (a cookie's Expires holds a
 * comma): their values are joined with a line feed, which no header value can contain.
 */
const JOINED_BY_LINE = new Set(['set-cookie']);

/**
 * The REST response's headers as sent to the cloud: lower-case names, string values, hop-by-hop
 * names dropped. A repeated header becomes one value: joined with ", " as HTTP allows, except
 * Set-Cookie, joined with "\n" (split on "\n" to get each cookie back). The answer to a HEAD
 * keeps its content-length, the size of what a GET would return.
 */
export function responseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, head = false): Record<string, string> {
  const c = headers.connection;
  const listed = connectionListed(Array.isArray(c) ? c.join(',') : c);
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || ((isHopByHop(lower) || listed?.has(lower) === true) && !(head && lower === 'content-length'))) continue;
    const sep = JOINED_BY_LINE.has(lower) ? '\n' : ', ';
    put(out, lower, Array.isArray(value) ? value.join(sep) : value, sep);
  }
  return out;
}
