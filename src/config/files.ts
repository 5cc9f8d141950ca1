// Reading what the configuration names: token, CA and endpoint files, with the systemd
// directory variables expanded. Problems are collected as lines naming the key.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, posix } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

const LOOPBACK = new Set(['localhost', '::1', '[::1]']);
const IPV4_LOOPBACK = /^127\.(?:25[0-5]|2[0-4]\d|1?\d?\d)\.(?:25[0-5]|2[0-4]\d|1?\d?\d)\.(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

/**
 * True for a host that cannot leave the machine: a literal loopback address (127.0.0.0/8,
 * ::1) or the name `localhost` itself. Other names under `.localhost` are not: most
 * resolvers send them to DNS.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK.has(h) || IPV4_LOOPBACK.test(h);
}

/** Splits `host:port` (or `[v6]:port`) into its parts. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`must be host:port, e.g. 127.0.0.1:9464, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const EXPANDABLE = ['CREDENTIALS_DIRECTORY', 'STATE_DIRECTORY'];

/** Expands ${CREDENTIALS_DIRECTORY} and ${STATE_DIRECTORY} in a path taken from the config. */
export function expandPath(key: string, path: string, env: Env, problems: string[]): string | null {
  let bad = false;
  const out = path.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
    const value = EXPANDABLE.includes(name) ? env[name] : undefined;
    if (value === undefined || value === '') {
      const hint = name === 'CREDENTIALS_DIRECTORY' ? '; systemd sets it in the unit only: outside it, name the file itself (e.g. /etc/nbwss-bridge/token)' : '';
      problems.push(`${key}: ${whole} is not set in the environment (only ${EXPANDABLE.join(', ')} are expanded${hint})`);
      bad = true;
      return whole;
    }
    return value;
  });
  return bad ? null : out;
}

/**
 * Where a JSON.parse error is, without the snippet of the text V8 puts in its message (a file
 * of tokens or passwords must not be echoed to a terminal or a journal).
 */
export function jsonErrorWhere(err: unknown): string {
  const m = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(String((err as Error)?.message));
  if (m?.[2]) return `line ${m[2]} column ${m[3]}`;
  if (m?.[1]) return `at character ${m[1]}`;
  return /end of JSON input/.test(String((err as Error)?.message)) ? 'it ends too early' : 'a syntax error';
}

export function readText(key: string, path: string, problems: string[]): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return null;
  }
}

export function readCa(key: string, path: string | null, env: Env, problems: string[]): string | null {
  if (path === null) return null;
  const file = expandPath(key, path, env, problems);
  const text = file === null ? null : readText(key, file, problems);
  if (text !== null && !text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${key}: ${path} holds no PEM certificate`);
    return null;
  }
  return text;
}


/**
 * The name of the systemd credential that carries the secret file at `path`: the normalised
 * path without its leading "/" and with "/" made "_", then "." and 8 hex digits of its SHA-256
 * (/etc/nbwss-bridge/token is etc_nbwss-bridge_token.83d854cb), so that two files never share a
 * name however they are spelt.
 */
export function credentialName(path: string): string {
  const p = posix.normalize(path);
  return `${p.replace(/^\/+/, '').replace(/\//g, '_')}.${createHash('sha256').update(p).digest('hex').slice(0, 8)}`;
}

/** The name units of version 0.1.0 gave the token's credential, still read when the unit in force is one of those. */
const LEGACY = new Map([['/etc/nbwss-bridge/token', 'token']]);

/**
 * Where a secret file is read from. Under systemd 247 and later the unit hands each secret file
 * over as a credential named after its path (credentialName): when $CREDENTIALS_DIRECTORY holds
 * that credential, it is read; otherwise the path itself (the unit for older systemd, and
 * check-config or doctor run by an operator).
 */
export function secretPath(path: string, env: Env): { file: string; credential: string | null } {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir && !path.startsWith(`${dir}/`)) {
    for (const name of [credentialName(path), LEGACY.get(posix.normalize(path))]) {
      if (name !== undefined && existsSync(join(dir, name))) return { file: join(dir, name), credential: name };
    }
  }
  return { file: path, credential: dir && path.startsWith(`${dir}/`) ? basename(path) : null };
}

/** Reads a secret file: one trailing newline is trimmed; an empty file is a problem. */
export function readSecret(key: string, path: string, env: Env, problems: string[]): string | null {
  const expanded = expandPath(key, path, env, problems);
  const file = expanded === null ? null : secretPath(expanded, env).file;
  const text = file === null ? null : readText(key, file, problems);
  if (text === null) return null;
  const secret = text.replace(/\r?\n$/, '');
  if (secret.trim() === '') {
    problems.push(`${key}: ${path} is empty`);
    return null;
  }
  return secret;
}

/** True when a file can be read by its group or by others (a secret should not be). */
export function readableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
