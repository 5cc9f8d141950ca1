#!/usr/bin/env node
// npm run dist: builds, then makes the release artifacts in release/ (emptied first):
//   nbwss-bridge-<version>-linux-x64     a single executable: Node.js with the bundled bridge in it
//   nbwss-bridge_<version>_amd64.deb     that executable, the systemd unit, the example config, docs
//   nbwss-bridge-<version>-1.x86_64.rpm  the same for RHEL 8/9 and SUSE 15
//   nbwss-bridge-<version>.tgz           the npm package (npm install --global ./that.tgz)
//   SHA256SUMS                           for sha256sum -c
// Needs Linux x64, dpkg-deb and rpmbuild; prints one line per artifact. The parts are in scripts/packaging/.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDeb } from './packaging/deb.mjs';
import { NAME, stageTree } from './packaging/layout.mjs';
import { buildRpm } from './packaging/rpm.mjs';
import { buildSea } from './packaging/sea.mjs';
import { DistError, humanSize, need, run, sha256 } from './packaging/tools.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const release = join(root, 'release');

/** Everything that can be missing, checked before any work so that the run fails in a second. */
function preflight() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new DistError(`the artifacts are for Linux x64 and are built with the node that runs this script; this one is ${process.platform}-${process.arch}`);
  }
  need('npm', 'it comes with Node.js');
  need('dpkg-deb', 'apt-get install dpkg (dnf install dpkg on RHEL/Fedora)');
  need('rpmbuild', 'apt-get install rpm (dnf install rpm-build on RHEL/Fedora)');
  const requireDev = createRequire(join(root, 'package.json'));
  for (const dev of ['esbuild', 'postject']) {
    try {
      requireDev.resolve(dev);
    } catch {
      throw new DistError(`${dev} not found in node_modules: run npm ci (it is a devDependency)`);
    }
  }
}

/** npm pack into release/, without the prepare script: dist/ was just built. */
async function packTarball(name) {
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', release], { cwd: root });
  if (!existsSync(join(release, name))) throw new DistError(`npm pack did not write release/${name}`);
}

async function main() {
  const started = performance.now();
  preflight();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const names = {
    sea: `${NAME}-${version}-linux-x64`,
    deb: `${NAME}_${version}_amd64.deb`,
    rpm: `${NAME}-${version}-1.x86_64.rpm`,
    tgz: `${NAME}-${version}.tgz`,
  };
  const out = (key) => join(release, names[key]);

  await rm(release, { recursive: true, force: true });
  await mkdir(release);
  await run('npm', ['run', 'build'], { cwd: root });
  if (!existsSync(join(root, 'LICENSE'))) process.stderr.write('npm run dist: warning: there is no LICENSE file; the packages ship without one\n');

  const work = await mkdtemp(join(tmpdir(), 'nbwss-dist-'));
  try {
    // npm pack only reads the tree, so it runs alongside the rest.
    const tarball = packTarball(names.tgz);
    tarball.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
    await buildSea({ root, version, work, out: out('sea') });
    const stage = join(work, 'stage');
    const { docs, licenses } = await stageTree({ root, sea: out('sea'), stage });
    await Promise.all([
      buildDeb({ stage, version, out: out('deb') }),
      buildRpm({ stage, version, docs, licenses, work, out: out('rpm') }),
      tarball,
    ]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const artifacts = Object.values(names);
  const unexpected = (await readdir(release)).filter((f) => !artifacts.includes(f));
  if (unexpected.length > 0) throw new DistError(`release/ holds files no step should have made: ${unexpected.join(', ')}`);
  const sums = await Promise.all(artifacts.map(async (f) => `${await sha256(join(release, f))}  ${f}\n`));
  await writeFile(join(release, 'SHA256SUMS'), sums.join(''));

  const width = Math.max(...artifacts.map((f) => f.length)) + 2;
  for (const f of [...artifacts, 'SHA256SUMS']) {
    process.stdout.write(`release/${f.padEnd(width)} ${humanSize((await stat(join(release, f))).size)}\n`);
  }
  process.stdout.write(`npm run dist: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((err) => {
  process.stderr.write(`npm run dist: ${err instanceof DistError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(1);
});
