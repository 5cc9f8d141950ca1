#!/usr/bin/env node
// Memory: the bridge at its default settings (and the plain bridge beside it) idle once
// connected, then after every 100 000 requests (GET 1 KiB, 16 in flight), up to --requests.
// Both processes are measured by their resident set (VmRSS), as an operator's tools show it.
//
//   npm run bench:memory                          # idle, then 100 000 requests
//   npm run bench:memory -- --requests 1000000    # ten times longer: RSS must stay flat
//   npm run bench:memory -- --snapshot /tmp/heap  # and a heap snapshot of the bridge at the end
//   npm run bench:memory -- --sea release/nbwss-bridge-0.1.0-linux-x64   # the single executable instead
//
// Prints a Markdown table and writes the figures to bench/memory.json.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: { sea: { type: 'string' }, snapshot: { type: 'string' }, requests: { type: 'string', default: '100000' }, window: { type: 'string', default: '16' }, step: { type: 'string', default: '100000' } },
});
const TOTAL = Number(opt.requests);
const STEP = Number(opt.step);
const WINDOW = Number(opt.window);
const MiB = 1048576;
const rss = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  if (process.env.BENCH_DEBUG) process.stderr.write(`${pid}: ${status.split("\n").filter((l) => /^(VmRSS|RssAnon|RssFile)/.test(l)).join(" ").replace(/\s+/g, " ")}\n`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};

const sim = spawn(process.execPath, [join(root, 'bench', 'rest-sim.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = await once(sim.stdout, 'data');
const restUrl = `http://127.0.0.1:${String(portLine).trim()}`;

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * MiB, perMessageDeflate: false });
await once(wss, 'listening');
const clouds = {};
const pending = new Map();
wss.on('connection', (ws, req) => {
  const way = req.url === '/plain' ? 'plain' : 'bridged';
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString('utf8'));
    if (msg.type === 'CONNECT') {
      ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: Math.floor(Date.now() / 1000), payload: { valid: true } }));
      clouds[way] = ws;
      return;
    }
    pending.get(msg.id)?.(msg.payload.responseCode);
    pending.delete(msg.id);
  });
});
const cloudUrl = `ws://127.0.0.1:${wss.address().port}`;
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
while (!clouds.bridged || !clouds.plain) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 2000));
const rows = [{ requests: 0, bridged: rss(procs.bridged.pid), plain: rss(procs.plain.pid) }];

let seq = 0;
const payload = { uri: '/netbackup/admin/jobs?size=1024', method: 'GET', headers: { 'Content-Type': 'application/vnd.netbackup+json;version=1.0', Authorization: 'eyJhbGciOiJSUzI1NiJ9.YmVuY2g.c2lnbmF0dXJl' } };
function one(way) {
  return new Promise((resolve, reject) => {
    const id = `M-${way}-${++seq}`;
    pending.set(id, (code) => (code >= 400 ? reject(new Error(`${way}: ${code}`)) : resolve()));
    clouds[way].send(JSON.stringify({ version: '1.0', id, type: 'COMMAND', subType: 'REQUEST', timeStamp: Math.floor(Date.now() / 1000), payload }));
  });
}
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
if (opt.snapshot) {
  procs.bridged.kill('SIGUSR2');
  const written = () => readdirSync(opt.snapshot).some((f) => f.endsWith('.heapsnapshot'));
  while (!written()) await new Promise((r) => setTimeout(r, 500));
  await new Promise((r) => setTimeout(r, 5000));
}
for (const p of Object.values(procs)) p.kill('SIGTERM');
await Promise.all(Object.values(procs).map((p) => once(p, 'exit')));
sim.kill('SIGTERM');
wss.close();

const mib = (b) => (b / MiB).toFixed(1);
const targets = (r) => (r.requests === 0 ? r.bridged <= 60 * MiB : r.bridged <= 90 * MiB) ? '✓' : '✗';
console.log('| requests | RSS bridge (MiB) | RSS plain bridge (MiB) | target |\n| ---: | ---: | ---: | --- |');
for (const r of rows) console.log(`| ${r.requests === 0 ? 'idle' : r.requests} | ${mib(r.bridged)} | ${mib(r.plain)} | ${r.requests === 0 ? '≤ 60' : '≤ 90'} ${targets(r)} |`);
console.log(`\nbridge at default settings, ${WINDOW} in flight, GET 1 KiB; Node.js ${process.version}`);
writeFileSync(join(root, 'bench', 'memory.json'), `${JSON.stringify({ window: WINDOW, rows }, null, 2)}\n`);
process.exit(0);
