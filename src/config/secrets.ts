// The secret files a configuration names (endpoint tokens, the notifications API key, backends'
// secret files), where each is read from, and the warnings about them check-config and doctor give.
import { configSecrets } from '../backends/auth/registry.js';
import { MIN_SECRET_LENGTH } from '../backends/auth/profile.js';
import { expandPath, readableByOthers, secretPath, type Env } from './files.js';
import type { Config } from './load.js';

/** A secret file the configuration names, and where it is read from. */
export interface SecretFile {
  /** The config key naming it, e.g. cloud.tokenFile or backends[0].auth.passwordFile. */
  key: string;
  /** The path as configured, expanded. */
  path: string;
  /** The file actually read: systemd's credential copy, or the path itself. */
  file: string;
  /** The systemd credential it comes from, or null. */
  credential: string | null;
}

/** Every secret file the configuration reads: endpoint tokens, the notifications API key, backends' secret files. */
export function secretFiles(config: Config, env: Env): SecretFile[] {
  const named: [string, string][] = config.cloud.endpointsFile ? [['cloud.endpointsFile', config.cloud.endpointsFile]] : [];
  config.cloud.endpoints.forEach((e, i) => {
    if (e.tokenFile) named.push([e.tokenFile === config.cloud.tokenFile ? 'cloud.tokenFile' : `cloud.endpoints[${i}].tokenFile`, e.tokenFile]);
  });
  if (config.notifications.apiKeyFile && config.notifications.apiKey !== null) named.push(['notifications.apiKeyFile', config.notifications.apiKeyFile]);
  config.backends.forEach((b, i) => {
    for (const [k, path] of Object.entries(b.auth.files)) named.push([`backends[${i}].auth.${k}`, path]);
  });
  const out: SecretFile[] = [];
  const seen = new Set<string>();
  for (const [key, configured] of named) {
    const path = expandPath(key, configured, env, []);
    if (path === null || seen.has(path)) continue;
    seen.add(path);
    out.push({ key, path, ...secretPath(path, env) });
  }
  return out;
}

/**
 * Warnings for secret files that their group or others can read (tokens, the notifications API
 * key, every secret file a backend's auth profile declares), and for secrets too short to be
 * kept out of answers.
 */
export function secretFileWarnings(config: Config, env: Env): string[] {
  const out: string[] = [];
  for (const f of secretFiles(config, env)) {
    if (readableByOthers(f.file)) out.push(`${f.key}: ${f.file} can be read by its group or others; chmod 600 it`);
  }
  config.backends.forEach((b, i) => {
    if (configSecrets(b.auth).some((v) => v.length < MIN_SECRET_LENGTH)) {
      out.push(`backends[${i}].auth: a secret shorter than ${MIN_SECRET_LENGTH} characters cannot be kept out of the backend's answers; use a longer one`);
    }
  });
  return out;
}
