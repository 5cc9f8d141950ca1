// The protocol's constants, shared by the schemas (envelope.ts) and by the code that reads and
// writes frames without them: the serving path never loads the schema library unless a message
// needs the schema's words for what is wrong with it.

export const PROTOCOL_VERSION = '1.0';

/** Methods HTTP defines; anything else breaks the schema (400). The policy narrows them further (403). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Longest id the bridge accepts. */
export const MAX_ID_LENGTH = 1024;
/** Longest uri the bridge accepts. */
export const MAX_URI_LENGTH = 16 * 1024;

/** An HTTP token: what a header name may be. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What HTTP allows in a field value: HTAB, visible ASCII and space, and obs-text (0x80-0xFF); any other control character or code point above 0xFF is refused. */
// eslint-disable-next-line no-control-regex
export const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** What the schemas (envelope.ts) and the readers that go without them (read.ts) say of a field that is wrong, in the same words. */
export const SAYS = {
  version: `must be "${PROTOCOL_VERSION}"`,
  timeStamp: 'must be a number of seconds since the epoch',
  idTooLong: `must be at most ${MAX_ID_LENGTH} characters`,
} as const;
