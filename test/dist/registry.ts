// A package registry on loopback serving exactly the production dependencies package-lock.json
// pins, their tarballs read from npm's own cache. `npm install --global ./the.tgz` resolves a
// tarball's dependencies from full registry documents, which `npm ci` does not leave in the cache;
// with this registry the install still needs no network, and gets the versions the lockfile names.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface LockEntry {
  name?: string;
  version: string;
  integrity?: string;
  dev?: boolean;
  link?: boolean;
  [field: string]: unknown;
}

/** What a version document carries besides name, version and dist, copied from the lockfile. */
const MANIFEST_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines', 'os', 'cpu', 'license'];

/** Where npm's cache keeps the file with this integrity (cacache's content-v2 layout), if it does. */
function cachedFile(npmCache: string, integrity: string): string | null {
  for (const one of integrity.split(/\s+/)) {
    const dash = one.indexOf('-');
    const hex = Buffer.from(one.slice(dash + 1), 'base64').toString('hex');
    const file = join(npmCache, '_cacache', 'content-v2', one.slice(0, dash), hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
    if (existsSync(file)) return file;
  }
  return null;
}

export class LockfileRegistry {
  /** Packages of the lockfile whose tarball is not in the cache (the install will fail on them). */
  readonly missing: string[] = [];
  readonly #versions = new Map<string, Map<string, Record<string, unknown>>>();
  readonly #tarballs = new Map<string, string>();
  readonly #server: Server;
  #url = '';

  constructor(lockfile: string, npmCache: string) {
    const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.dev || entry.link) continue;
      const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const file = entry.integrity ? cachedFile(npmCache, entry.integrity) : null;
      if (!file) {
        this.missing.push(`${name}@${entry.version}`);
        continue;
      }
      const tarball = `/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
      this.#tarballs.set(tarball, file);
      const doc: Record<string, unknown> = { name, version: entry.version };
      for (const f of MANIFEST_FIELDS) if (entry[f] !== undefined) doc[f] = entry[f];
      doc.dist = { tarball, integrity: entry.integrity };
      if (!this.#versions.has(name)) this.#versions.set(name, new Map());
      this.#versions.get(name)?.set(entry.version, doc);
    }
    this.#server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://registry').pathname);
      const file = this.#tarballs.get(path);
      if (file) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        createReadStream(file).pipe(res);
        return;
      }
      const versions = this.#versions.get(path.slice(1));
      if (!versions) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      const docs = Object.fromEntries([...versions].map(([v, d]) => [v, { ...d, dist: { ...(d.dist as object), tarball: `${this.#url}${(d.dist as { tarball: string }).tarball}` } }]));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: path.slice(1), 'dist-tags': { latest: [...versions.keys()].pop() }, versions: docs }));
    });
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
