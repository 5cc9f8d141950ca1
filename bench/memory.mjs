#!/usr/bin/env node
// Memory: the bridge at its default settings (and the plain bridge beside it) idle once
// connected, then after every 100 000 requests (GET 1 KiB, 16 in flight), up to --requests.
// Both processes are measured by their resident set (VmRSS), as an operator's tools show it.
// Idle is measured twice: 2 s after connecting, and settled, once V8's memory reducer has run
// (it starts 8 s after activity stops); the last step is measured settled as well.
//
//   npm run bench:memory                          # idle, then 100 000 requests
//   npm run bench:memory -- --requests 1000000    # ten times longer: RSS must stay flat
//   npm run bench:memory -- --snapshot /tmp/heap  # and a heap snapshot of the bridge at the end
//   npm run bench:memory -- --sea release/nbwss-bridge-0.1.0-linux-x64   # the single executable instead
//   npm run bench:memory -- --settle 0            # without the settled rows
//
// Prints a Markdown table and writes the figures to bench/memory.json.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { procRss, startCloud, startRestSim } from './peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: { sea: { type: 'string' }, snapshot: { type: 'string' }, requests: { type: 'string', default: '100000' }, window: { type: 'string', default: '16' }, step: { type: 'string', default: '100000' }, settle: { type: 'string', default: '20' } },
});
const TOTAL = Number(opt.requests);
const STEP = Number(opt.step);
const WINDOW = Number(opt.window);
const SETTLE_MS = Number(opt.settle) * 1000;
const MiB = 1048576;
const rss = (pid) => procRss(pid).rss;

const { url: restUrl, sim } = await startRestSim(root);
const cloud = await startCloud();
const cloudUrl = cloud.url;
const procs = {
  // Default settings: only where the cloud and the REST API are.
  bridged: spawn(opt.sea ?? process.execPath, [...(opt.snapshot ? ['--heapsnapshot-signal=SIGUSR2'] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(opt.sea ? [] : [join(root, 'bin', 'nbwss-bridge')]), 'run'], {
    cwd: opt.snapshot ?? root,
    env: { PATH: process.env.PATH, NBWSS_CLOUD_URL: `${cloudUrl}/bench`, NBWSS_CLOUD_TOKEN: 'bench-token', NBWSS_REST_BASE_URL: restUrl, NBWSS_LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_NBWSS_')).map(([k, v]) => [k.slice(6), v])) },
    stdio: ['ignore', 'inherit', 'inherit'],
  }),
  plain: spawn(process.execPath, [join(root, 'bench', 'plain-bridge.mjs')], {
    env: { PATH: process.env.PATH, PLAIN_CLOUD_URL: `${cloudUrl}/plain`, PLAIN_REST_URL: restUrl, PLAIN_CONNECTIONS: '8' },
    stdio: ['ignore', 'inherit', 'inherit'],
  }),
};
await cloud.ready();
await new Promise((r) => setTimeout(r, 2000));
const rows = [{ requests: 0, bridged: rss(procs.bridged.pid), plain: rss(procs.plain.pid) }];
/** The same again once both have been idle SETTLE_MS. */
async function settled(requests) {
  if (SETTLE_MS === 0) return;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  rows.push({ requests, settled: true, bridged: rss(procs.bridged.pid), plain: rss(procs.plain.pid) });
}
await settled(0);

const payload = { uri: '/netbackup/admin/jobs?size=1024', method: 'GET', headers: { 'Content-Type': 'application/vnd.netbackup+json;version=1.0', Authorization: 'eyJhbGciOiJSUzI1NiJ9.YmVuY2g.c2lnbmF0dXJl' } };
const one = (way) => cloud.command(way, payload);
async function send(way, n) {
  let left = n;
  const lane = async () => {
    while (left > 0) {
      left--;
      await one(way);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
}
for (let done = 0; done < TOTAL; done += STEP) {
  const n = Math.min(STEP, TOTAL - done);
  await send('bridged', n);
  await send('plain', n);
  await new Promise((r) => setTimeout(r, 1000));
  rows.push({ requests: done + n, bridged: rss(procs.bridged.pid), plain: rss(procs.plain.pid) });
  process.stderr.write(`${done + n} requests: bridge ${(rows.at(-1).bridged / MiB).toFixed(1)} MiB, plain ${(rows.at(-1).plain / MiB).toFixed(1)} MiB\n`);
}
if (TOTAL > 0) await settled(TOTAL);
if (opt.snapshot) {
  procs.bridged.kill('SIGUSR2');
  const written = () => readdirSync(opt.snapshot).some((f) => f.endsWith('.heapsnapshot'));
  while (!written()) await new Promise((r) => setTimeout(r, 500));
  await new Promise((r) => setTimeout(r, 5000));
}
for (const p of Object.values(procs)) p.kill('SIGTERM');
await Promise.all(Object.values(procs).map((p) => once(p, 'exit')));
sim.kill('SIGTERM');
cloud.close();

const mib = (b) => (b / MiB).toFixed(1);
const targets = (r) => (r.requests === 0 ? r.bridged <= 60 * MiB : r.bridged <= 90 * MiB) ? '✓' : '✗';
console.log('| requests | RSS bridge (MiB) | RSS plain bridge (MiB) | target |\n| ---: | ---: | ---: | --- |');
const label = (r) => `${r.requests === 0 ? 'idle' : r.requests}${r.settled ? `, settled (${SETTLE_MS / 1000} s idle)` : ''}`;
for (const r of rows) console.log(`| ${label(r)} | ${mib(r.bridged)} | ${mib(r.plain)} | ${r.requests === 0 ? '≤ 60' : '≤ 90'} ${targets(r)} |`);
console.log(`\nbridge at default settings, ${WINDOW} in flight, GET 1 KiB; Node.js ${process.version}`);
writeFileSync(join(root, 'bench', 'memory.json'), `${JSON.stringify({ window: WINDOW, rows }, null, 2)}\n`);
process.exit(0);
