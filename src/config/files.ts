// Reading what the configuration names: token, CA and endpoint files, with the systemd
// directory variables expanded. Problems are collected as lines naming the key.
import { readFileSync, statSync } from 'node:fs';

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

const EXPANDABLE = ['CREDENTIALS_DIRECTORY', 'STATE_DIRECTORY'];

/** Expands ${CREDENTIALS_DIRECTORY} and ${STATE_DIRECTORY} in a path taken from the config. */
export function expandPath(key: string, path: string, env: Env, problems: string[]): string | null {
  let bad = false;
  const out = path.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
    const value = EXPANDABLE.includes(name) ? env[name] : undefined;
    if (value === undefined || value === '') {
      problems.push(`${key}: ${whole} is not set in the environment (only ${EXPANDABLE.join(', ')} are expanded)`);
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


/** Reads a secret file: one trailing newline is trimmed; an empty file is a problem. */
export function readSecret(key: string, path: string, env: Env, problems: string[]): string | null {
  const file = expandPath(key, path, env, problems);
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
