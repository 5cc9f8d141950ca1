#!/usr/bin/env node
// The benchmark: the same load sent to the REST API directly (an undici Pool) and through the
// built bridge (this process plays the cloud application), alternating, on one machine.
//
//   npm run bench                 # the full run, about two minutes
//   npm run bench -- --quick      # about ten seconds
//   npm run bench -- --seconds 30 # longer rounds (the RSS flatness check uses 10x the default)
//   npm run bench -- --only '1 KiB' --profile /tmp/prof   # one scenario, the bridge under --cpu-prof
//
// Prints a Markdown table and writes the figures to bench/results.json.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    window: { type: 'string', default: '256' },
    connections: { type: 'string', default: '16' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const ROUND_S = Number(opt.seconds ?? (opt.quick ? 0.6 : 5));
const ROUNDS = Number(opt.rounds ?? 2);
const WARMUP_S = opt.quick ? 0.2 : 1;
const WINDOW = Number(opt.window);
const CONNECTIONS = Number(opt.connections);
const KiB = 1024;

const SCENARIOS = [
  { name: 'GET 1 KiB', method: 'GET', size: KiB, window: WINDOW },
  { name: 'GET 64 KiB', method: 'GET', size: 64 * KiB, window: WINDOW },
  { name: 'GET 1 MiB', method: 'GET', size: 1024 * KiB, window: Math.min(WINDOW, 64) },
  { name: 'POST 16 KiB', method: 'POST', size: KiB, window: WINDOW, body: 16 * KiB },
  { name: 'GET 1 KiB, window 16', method: 'GET', size: KiB, window: 16 },
].filter((s) => !opt.only || s.name.includes(opt.only));

const TYPE = 'application/vnd.netbackup+json;version=1.0';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.YmVuY2g.c2lnbmF0dXJl';
const postBody = JSON.stringify({ policyName: 'bench-policy', pad: 'p'.repeat(16 * KiB - 40) });

const TICKS = 100; // USER_HZ on Linux
function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}
function procRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);

/** Keeps `window` requests outstanding for `seconds`; `one()` resolves when a request is done. */
async function drive(window, seconds, one) {
  const lat = [];
  let done = 0;
  let stop = false;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  setTimeout(() => (stop = true), seconds * 1000);
  const lane = async () => {
    while (!stop) {
      const t0 = performance.now();
      await one();
      const t1 = performance.now();
      if (t1 <= deadline) {
        done++;
        lat.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const elapsed = (Math.min(performance.now(), deadline) - started) / 1000;
  return { done, lat, elapsed };
}

// ---- the REST simulator, in its own process ----------------------------------------------
const sim = spawn(process.execPath, [join(root, 'bench', 'rest-sim.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = await once(sim.stdout, 'data');
const restUrl = `http://127.0.0.1:${String(portLine).trim()}`;

// ---- the cloud side: a ws server the bridge dials -----------------------------------------
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
await once(wss, 'listening');
const pending = new Map();
let cloud = null;
let seq = 0;
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString('utf8'));
    if (msg.type === 'CONNECT') {
      ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: Math.floor(Date.now() / 1000), payload: { valid: true } }));
      cloud = ws;
      return;
    }
    const resolve = pending.get(msg.id);
    if (resolve) {
      pending.delete(msg.id);
      resolve(msg.payload.responseCode);
    }
  });
});

// ---- the bridge, configured only by NBWSS_* variables ------------------------------------
const profiling = [...(opt.profile ? ['--cpu-prof', `--cpu-prof-dir=${opt.profile}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
const bridge = spawn(process.execPath, [...profiling, join(root, 'bin', 'nbwss-bridge'), 'run'], {
  cwd: root,
  env: {
    PATH: process.env.PATH,
    NBWSS_CLOUD_URL: `ws://127.0.0.1:${wss.address().port}/bench`,
    NBWSS_CLOUD_TOKEN: 'bench-token',
    NBWSS_REST_BASE_URL: restUrl,
    NBWSS_CONCURRENCY: String(CONNECTIONS),
    NBWSS_MAX_PENDING: String(Math.max(1000, WINDOW * 2)),
    NBWSS_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_NBWSS_')).map(([k, v]) => [k.slice(6), v])),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
while (cloud === null) await new Promise((r) => setTimeout(r, 20));

const pool = new Pool(restUrl, { connections: CONNECTIONS, pipelining: 1 });

function directOne(s) {
  const path = `/netbackup/admin/jobs?size=${s.size}`;
  return async () => {
    const res = await pool.request({
      path: s.method === 'POST' ? '/netbackup/config/policies' : path,
      method: s.method,
      headers: { 'content-type': TYPE, authorization: JWT },
      body: s.method === 'POST' ? postBody : undefined,
    });
    await res.body.text();
    if (res.statusCode >= 400) throw new Error(`direct: ${res.statusCode}`);
  };
}

function bridgedOne(s) {
  const payload = {
    uri: s.method === 'POST' ? '/netbackup/config/policies' : `/netbackup/admin/jobs?size=${s.size}`,
    method: s.method,
    headers: { 'Content-Type': TYPE, Authorization: JWT },
    ...(s.method === 'POST' ? { parameters: postBody } : {}),
  };
  return () =>
    new Promise((resolve, reject) => {
      const id = `B-${++seq}`;
      pending.set(id, (code) => (code >= 400 ? reject(new Error(`bridged: ${code}`)) : resolve()));
      cloud.send(JSON.stringify({ version: '1.0', id, type: 'COMMAND', subType: 'REQUEST', timeStamp: Math.floor(Date.now() / 1000), payload }));
    });
}

async function round(kind, s, seconds) {
  const one = kind === 'direct' ? directOne(s) : bridgedOne(s);
  const cpu0 = kind === 'direct' ? process.cpuUsage() : procCpuMs(bridge.pid);
  const threads = () => Object.fromEntries(readdirSync(`/proc/${bridge.pid}/task`).map((t) => {
    const st = readFileSync(`/proc/${bridge.pid}/task/${t}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return [t, (Number(f[11]) + Number(f[12])) * 10];
  }));
  const t0 = kind === 'bridged' && process.env.BENCH_DEBUG ? threads() : null;
  const self0 = process.cpuUsage();
  const r = await drive(s.window, seconds, one);
  if (t0) {
    const t1 = threads();
    const self = process.cpuUsage(self0);
    process.stderr.write(`  bridge threads ms: ${Object.entries(t1).map(([t, v]) => v - (t0[t] ?? 0)).filter((v) => v > 0).join(' ')}; load process ${Math.round((self.user + self.system) / 1000)} ms; ${r.done} req in ${r.elapsed.toFixed(1)} s\n`);
  }
  const cpuMs = kind === 'direct' ? (() => { const d = process.cpuUsage(cpu0); return (d.user + d.system) / 1000; })() : procCpuMs(bridge.pid) - cpu0;
  return { ...r, cpuMs };
}

const results = [];
for (const s of SCENARIOS) {
  await round('direct', s, WARMUP_S);
  await round('bridged', s, WARMUP_S);
  const acc = { direct: { done: 0, elapsed: 0, lat: [], cpuMs: 0 }, bridged: { done: 0, elapsed: 0, lat: [], cpuMs: 0 } };
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of ['direct', 'bridged']) {
      const r = await round(kind, s, ROUND_S);
      const a = acc[kind];
      a.done += r.done;
      a.elapsed += r.elapsed;
      a.cpuMs += r.cpuMs;
      for (const l of r.lat) a.lat.push(l);
    }
  }
  const sum = (a) => {
    const sorted = a.lat.sort((x, y) => x - y);
    return {
      rps: a.done / a.elapsed,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      max: sorted.at(-1) ?? 0,
      cpuPerReqMs: a.cpuMs / a.done,
      requests: a.done,
    };
  };
  const direct = sum(acc.direct);
  const bridged = sum(acc.bridged);
  const row = {
    scenario: s.name,
    window: s.window,
    direct,
    bridged,
    ratio: bridged.rps / direct.rps,
    cpuRatio: bridged.cpuPerReqMs / direct.cpuPerReqMs,
    p99AddedMs: bridged.p99 - direct.p99,
    bridgeRss: procRss(bridge.pid),
  };
  results.push(row);
  process.stderr.write(`${s.name}: ${Math.round(direct.rps)} direct, ${Math.round(bridged.rps)} bridged req/s\n`);
}

const peakRss = procRss(bridge.pid).peak;
bridge.kill('SIGTERM');
await once(bridge, 'exit');
sim.kill('SIGTERM');
await pool.close();
wss.close();

const f = (n, d = 0) => n.toFixed(d);
const mib = (b) => `${f(b / 1048576, 1)} MiB`;
const lines = [
  `| scenario | window | direct req/s | bridged req/s | ratio | direct p50 / p99 / max ms | bridged p50 / p99 / max ms | bridge CPU/req | direct CPU/req | CPU ratio | bridge RSS |`,
  `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ...results.map((r) =>
    `| ${r.scenario} | ${r.window} | ${f(r.direct.rps)} | ${f(r.bridged.rps)} | ${f(r.ratio, 2)} | ${f(r.direct.p50, 2)} / ${f(r.direct.p99, 2)} / ${f(r.direct.max, 1)} | ${f(r.bridged.p50, 2)} / ${f(r.bridged.p99, 2)} / ${f(r.bridged.max, 1)} | ${f(r.bridged.cpuPerReqMs * 1000)} µs | ${f(r.direct.cpuPerReqMs * 1000)} µs | ${f(r.cpuRatio, 2)} | ${mib(r.bridgeRss.rss)} |`),
];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}`;
console.log(lines.join('\n'));
console.log(`\nbridge peak RSS ${mib(peakRss)}; ${ROUNDS} rounds of ${ROUND_S} s per way and scenario, alternating; ${machine}`);
writeFileSync(
  join(root, 'bench', 'results.json'),
  `${JSON.stringify({ machine, roundSeconds: ROUND_S, rounds: ROUNDS, connections: CONNECTIONS, peakRss, results }, null, 2)}\n`,
);
process.exit(0);
