// Configuration values as they may be printed (problem lines, the plan of service install): URLs
// without credentials, query or fragment, and the values of secret keys replaced.
import { mayHideSecrets, redactUrl } from './endpoints.js';

/** Keys whose values are never printed, whatever they hold. */
const SECRET_KEY = /token|password|passwd|secret|apikey|api_key|cookie|authorization|session/i;

/**
 * `v` as it may be printed. With `showFiles`, keys naming a file (tokenFile, passwordFile) keep
 * their path, which is no secret; otherwise they are replaced like the rest.
 */
export function redactValue(v: unknown, showFiles = false, depth = 0): unknown {
  if (typeof v === 'string') return mayHideSecrets(v) ? redactUrl(v) : v;
  if (depth > 8 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, showFiles, depth + 1));
  const secret = (k: string) => SECRET_KEY.test(k) && !(showFiles && k.endsWith('File'));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, secret(k) ? '[redacted]' : redactValue(x, showFiles, depth + 1)]));
}
