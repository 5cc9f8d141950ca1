// The configuration file `service install` writes: the one already there (the package's, or an
// earlier install's) with the values given as flags set in it, and its check under another
// filesystem root (--root), where every path it names is read below that root.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig, type Config } from '../config/load.js';
import { schemaLeaves } from '../config/leaves.js';

export type JsonObject = Record<string, unknown>;

/** A flag's text as the JSON value the config file holds for its key. */
function typed(format: string, text: string): unknown {
  if (format === 'nbw-uint') return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
  if (format === 'nbw-bool') return text === 'true' ? true : text === 'false' ? false : text;
  if (format === 'nbw-path-list' || format === 'nbw-method-list') return text.split(',').map((s) => s.trim()).filter(Boolean);
  return text;
}

/** Sets a dotted key in a JSON object, making the sections on the way. */
export function setKey(obj: JsonObject, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = obj;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    at = (at[p] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as JsonObject;
  }
  at[parts[parts.length - 1] as string] = value;
}

/** `base` with each flag's value set under its key, typed as the schema says. */
export function withFlags(base: JsonObject, overrides: Readonly<Record<string, string>>): JsonObject {
  const out = structuredClone(base);
  const formats = new Map(schemaLeaves().map((l) => [l.key, l.format]));
  for (const [key, text] of Object.entries(overrides)) setKey(out, key, typed(formats.get(key) ?? '', text));
  return out;
}

const PATH_KEYS = [['cloud', 'tokenFile'], ['cloud', 'caFile'], ['cloud', 'endpointsFile'], ['rest', 'caFile'], ['notifications', 'apiKeyFile'], ['state', 'dir']] as const;

/** `config` with every absolute file path it names passed through `map` (secrets, CAs, endpoints, state). */
export function mapPaths(config: JsonObject, map: (path: string) => string): JsonObject {
  const out = structuredClone(config);
  const move = (o: unknown, key: string) => {
    const rec = o as JsonObject | undefined;
    const v = rec?.[key];
    if (rec && typeof v === 'string' && v.startsWith('/')) rec[key] = map(v);
  };
  for (const [section, key] of PATH_KEYS) move(out[section], key);
  const cloud = out.cloud as JsonObject | undefined;
  for (const e of Array.isArray(cloud?.endpoints) ? cloud.endpoints : []) move(e, 'tokenFile');
  for (const b of Array.isArray(out.backends) ? out.backends : []) {
    move(b, 'caFile');
    const auth = (b as JsonObject).auth as JsonObject | undefined;
    for (const k of Object.keys(auth ?? {})) if (k.endsWith('File')) move(auth, k);
  }
  return out;
}

/**
 * Loads `config` as `run` would, before anything is written: the files install is about to
 * write (`staged`, by path) are read from a scratch copy, every other path under `root`.
 * Throws the ConfigError naming every problem (see load.ts). Nothing from the environment is
 * read: the service does not see this shell's.
 */
export function checkPlanned(config: JsonObject, root: string, staged: ReadonlyMap<string, string> = new Map()): { config: Config; pathOf(read: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'nbwss-check-'));
  const pathOf = (read: string) => (read.startsWith(`${dir}/`) ? read.slice(dir.length) : root !== '/' && read.startsWith(`${root}/`) ? read.slice(root.length) : read);
  try {
    for (const [path, content] of staged) {
      mkdirSync(dirname(join(dir, path)), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, path), content, { mode: 0o600 });
    }
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(mapPaths(config, (p) => (staged.has(p) ? join(dir, p) : root === '/' ? p : join(root, p)))), { mode: 0o600 });
    return { config: loadConfig({ env: {}, configFile: file, purpose: 'run' }).config, pathOf };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
