// The single executable: the built CLI bundled by esbuild into one CommonJS file, turned into
// a Node.js Single Executable Application blob and injected into a copy of this very node.
// See https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html
import { chmod, copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DistError, run } from './tools.mjs';

/** The fuse postject flips so that node looks for the blob (fixed by Node.js). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** What src/demo/demo.ts reads the fixtures from (SEA_FIXTURES_ASSET there). */
const FIXTURES_ASSET = 'fixtures.json';

/**
 * ws loads these native add-ons when it can and falls back to JavaScript when the require
 * throws. A SEA can load no add-on, so each is replaced by a module that throws at once.
 */
const nativeAddonStubs = {
  name: 'native-addon-stubs',
  setup(build) {
    build.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (a) => ({ path: a.path, namespace: 'native-addon-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'native-addon-stub' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not part of the single executable`)});`,
      loader: 'js',
    }));
  },
};

/**
 * dist/packages.js requires the CommonJS packages through a `require` of its own (createRequire),
 * which a bundler cannot follow. Here that declaration is dropped, so the requires below it are
 * the plain ones esbuild bundles.
 */
const PACKAGES_REQUIRE = 'const require = createRequire(import.meta.url);';
const plainRequires = {
  name: 'plain-requires',
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/]packages\.js$/ }, async (a) => {
      const text = await readFile(a.path, 'utf8');
      if (!text.includes(PACKAGES_REQUIRE)) throw new DistError(`${a.path} no longer declares \`${PACKAGES_REQUIRE}\`; update plainRequires in scripts/packaging/sea.mjs`);
      return { contents: text.replace(PACKAGES_REQUIRE, ''), loader: 'js' };
    });
  },
};

/** Bundles dist/cli/main.js and everything it imports into `outfile` (CommonJS, builtins only). */
async function bundle(root, version, outfile) {
  const requireDev = createRequire(join(root, 'package.json'));
  const esbuild = requireDev('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(root, 'dist', 'cli', 'main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
    plugins: [nativeAddonStubs, plainRequires],
    // Minified, the script V8 keeps in memory is half the size (about 4 MiB less resident at
    // idle); names are kept, so that errors in the logs still name their functions.
    minify: true,
    keepNames: true,
    define: {
      // src/constants.ts takes the version from here instead of reading package.json.
      __NBWSS_VERSION__: JSON.stringify(version),
      // CommonJS has no import.meta: URLs made from it (e.g. demo.ts's FIXTURES_DIR, unused in a
      // SEA) point next to the executable, where a SEA's __filename is, instead of failing to parse.
      'import.meta.url': '__nbwssImportMetaUrl',
    },
    banner: { js: "const __nbwssImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  // A warning here (import.meta.dirname, a dynamic require, ...) would be a failure at run time.
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    throw new DistError(`esbuild warned while bundling the single executable; fix these first:\n${text.join('\n')}`);
  }
}

/** fixtures/*.json as one { file name: text } asset, which the demo writes out when it runs. */
async function fixturesAsset(root, file) {
  const dir = join(root, 'fixtures');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const files = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')])));
  await writeFile(file, JSON.stringify(files));
}

/**
 * Builds the single executable at `out` from the node running this script (so it carries
 * exactly that Node.js), working in `work`.
 */
export async function buildSea({ root, version, work, out }) {
  const main = join(work, 'sea-main.cjs');
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  await bundle(root, version, main);
  await fixturesAsset(root, join(work, FIXTURES_ASSET));
  await writeFile(
    config,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's compiled code goes into the blob: a faster start. It is only valid for this very
      // node, which is the one the blob is injected into.
      useCodeCache: true,
      assets: { [FIXTURES_ASSET]: join(work, FIXTURES_ASSET) },
    }),
  );
  await run(process.execPath, ['--experimental-sea-config', config], { cwd: work });

  // On Linux there is no signature to remove first (unlike macOS and Windows).
  await copyFile(process.execPath, out);
  await chmod(out, 0o755);
  // postject's CLI, in a child process: its ELF library warns about note sections node's binary
  // has ("Can't find string offset for section name '.note.100'"), which is harmless noise.
  const postject = join(dirname(createRequire(join(root, 'package.json')).resolve('postject')), 'cli.js');
  await run(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);

  // A blob node cannot read shows only when the executable runs: try it before packaging it.
  const printed = await run(out, ['--version'], { env: { PATH: process.env.PATH ?? '' } });
  if (!printed.includes(version)) throw new DistError(`the single executable printed ${JSON.stringify(printed)} for --version, not ${version}`);
}
