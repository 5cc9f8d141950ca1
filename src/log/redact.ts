// The fixed list of log paths that hold secrets. Modules never log headers, parameters or
// bodies; these paths are the second line of defence if one ever does.

const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'token',
  'password',
  'passwd',
  'apiKey',
  'apikey',
  'cookie',
  'Cookie',
  'set-cookie',
  'Set-Cookie',
  'sessionId',
  'x-restsvcsessionid',
  'X-RestSvcSessionId',
  'parameters',
  'body',
];

const quote = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`);
const join = (prefix: string, k: string) => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);

/** pino redact paths: each secret key at the top level, one and two levels down, and under headers. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const k = quote(key);
  return [k, join('*', k), join('*.*', k), join('headers', k), join('*.headers', k)];
});

export const CENSOR = '[redacted]';
