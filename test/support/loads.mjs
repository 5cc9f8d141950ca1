// Preloaded with --import: records every module the process loads (ES modules through a resolve
// hook, CommonJS through the require cache) and writes the list to $NBWSS_TEST_LOADS on SIGUSR2,
// one URL or path per line. Tests use it to prove what a configuration does not load.
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const esm = new Set();
port1.on('message', (url) => esm.add(url));
port1.unref();
register(
  'data:text/javascript,' +
    encodeURIComponent(`let port; export function initialize(d) { port = d.port; }
export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }`),
  { data: { port: port2 }, transferList: [port2] },
);
const cache = createRequire(import.meta.url).cache;
process.on('SIGUSR2', () => {
  writeFileSync(process.env.NBWSS_TEST_LOADS, [...esm, ...Object.keys(cache)].join('\n'));
});
