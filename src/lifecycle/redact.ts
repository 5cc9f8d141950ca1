// The log paths that hold secrets: a base list, and every name an auth profile declares as
// secret (the values its secret files are read into, the credential headers and body fields it
// sets), so a new profile is redacted without anyone listing it here. Modules never log headers,
// parameters or bodies; these paths are the second line of defence if one ever does.
import { SECRET_NAMES } from '../backends/auth/registry.js';

/** Secrets no auth profile declares: the endpoint token, other spellings of a password, session cookies and ids, request and response bodies. */
const BASE_KEYS = ['token', 'passwd', 'set-cookie', 'sessionId', 'parameters', 'body'];

/** Each name as written, lower-cased and capitalized as headers are (Set-Cookie, X-RestSvcSessionId). */
function spellings(name: string): string[] {
  const headerCase = name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
  return [...new Set([name, name.toLowerCase(), headerCase, name === 'x-restsvcsessionid' ? 'X-RestSvcSessionId' : headerCase])];
}

/** Every key that holds a secret, in the spellings logs may carry. */
export const SECRET_KEYS: readonly string[] = [...new Set([...BASE_KEYS, ...SECRET_NAMES].flatMap(spellings))];

/** pino redact paths: each secret key (in brackets, which every name may use) at the top level and up to three levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const k = `["${key}"]`;
  return [k, `*${k}`, `*.*${k}`, `*.*.*${k}`];
});

export const CENSOR = '[redacted]';
