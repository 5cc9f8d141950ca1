#!/usr/bin/env node
// The benchmark: the same load sent three ways, alternating, on one machine: through the built
// bridge, through a plain bridge with none of its guarantees (bench/plain-bridge.mjs: ws,
// JSON.parse, one undici request, JSON.stringify), and to the REST API directly (an undici
// Pool). This process plays the cloud application for both bridges. Every size at windows 1,
// 16 and 256.
//
//   npm run bench                 # the full run, about four minutes
//   npm run bench -- --quick      # about half a minute
//   npm run bench -- --seconds 5  # longer rounds
//   npm run bench -- --only 'GET 1 KiB' --windows 256 --profile /tmp/prof   # one scenario, both bridges under --cpu-prof
//   node bench/profile-summary.mjs /tmp/prof                                 # where the microseconds go, per request
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
import { procRss, startCloud, startRestSim } from './peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    windows: { type: 'string', default: '1,16,256' },
    connections: { type: 'string', default: '16' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const ROUND_S = Number(opt.seconds ?? (opt.quick ? 0.4 : 2));
const ROUNDS = Number(opt.rounds ?? 2);
const WARMUP_S = opt.quick ? 0.2 : 0.5;
const WINDOWS = opt.windows.split(',').map(Number);
const MAX_WINDOW = Math.max(...WINDOWS);
const CONNECTIONS = Number(opt.connections);
const KiB = 1024;
const WAYS = ['bridged', 'plain', 'direct'];

const SIZES = [
  { name: 'GET 1 KiB', method: 'GET', size: KiB },
  { name: 'GET 64 KiB', method: 'GET', size: 64 * KiB },
  { name: 'POST 16 KiB', method: 'POST', size: KiB, body: 16 * KiB },
  { name: 'GET 1 MiB', method: 'GET', size: 1024 * KiB },
];
const SCENARIOS = SIZES.flatMap((s) => WINDOWS.map((window) => ({ ...s, window }))).filter((s) => !opt.only || s.name.includes(opt.only));

const TYPE = 'application/vnd.netbackup+json;version=1.0';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.YmVuY2g.c2lnbmF0dXJl';
const postBody = JSON.stringify({ policyName: 'bench-policy', pad: 'p'.repeat(16 * KiB - 40) });

const TICKS = 100; // USER_HZ on Linux
function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
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

// ---- the REST simulator, in its own process, and the cloud side both bridges dial -------
const { url: restUrl, sim } = await startRestSim(root);
const cloud = await startCloud();

// ---- the bridge, configured only by NBWSS_* variables ------------------------------------
const profiling = (way) => [
  ...(opt.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(opt.profile, way)}`] : []),
  // Node.js options for the bridge alone (BENCH_NODE_ARGS) or the plain bridge alone (BENCH_PLAIN_NODE_ARGS).
  ...((way === 'plain' ? process.env.BENCH_PLAIN_NODE_ARGS : process.env.BENCH_NODE_ARGS)?.split(' ').filter(Boolean) ?? []),
];
const bridge = spawn(process.execPath, [...profiling('bridged'), join(root, 'bin', 'nbwss-bridge'), 'run'], {
  cwd: root,
  env: {
    PATH: process.env.PATH,
    NBWSS_CLOUD_URL: `${cloud.url}/bench`,
    NBWSS_CLOUD_TOKEN: 'bench-token',
    NBWSS_REST_BASE_URL: restUrl,
    NBWSS_CONCURRENCY: String(CONNECTIONS),
    NBWSS_MAX_PENDING: String(Math.max(1000, MAX_WINDOW * 2)),
    NBWSS_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_NBWSS_')).map(([k, v]) => [k.slice(6), v])),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const plain = spawn(process.execPath, [...profiling('plain'), join(root, 'bench', 'plain-bridge.mjs')], {
  cwd: root,
  env: { PATH: process.env.PATH, PLAIN_CLOUD_URL: `${cloud.url}/plain`, PLAIN_REST_URL: restUrl, PLAIN_CONNECTIONS: String(CONNECTIONS) },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const pids = { bridged: bridge.pid, plain: plain.pid };
await cloud.ready();

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

function bridgedOne(s, way) {
  const payload = {
    uri: s.method === 'POST' ? '/netbackup/config/policies' : `/netbackup/admin/jobs?size=${s.size}`,
    method: s.method,
    headers: { 'Content-Type': TYPE, Authorization: JWT },
    ...(s.method === 'POST' ? { parameters: postBody } : {}),
  };
  return () => cloud.command(way, payload);
}

async function round(kind, s, seconds) {
  const one = kind === 'direct' ? directOne(s) : bridgedOne(s, kind);
  const cpu0 = kind === 'direct' ? process.cpuUsage() : procCpuMs(pids[kind]);
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
  served[kind] += r.done;
  const cpuMs = kind === 'direct' ? (() => { const d = process.cpuUsage(cpu0); return (d.user + d.system) / 1000; })() : procCpuMs(pids[kind]) - cpu0;
  return { ...r, cpuMs };
}

const results = [];
/** Requests each way served over the whole run, warm-ups included: what a profile covers. */
const served = { bridged: 0, plain: 0, direct: 0 };
/** The load's span on the monotonic clock that CPU profiles are stamped with, in µs: startup is left out of a profile's summary. */
const span = { from: Number(process.hrtime.bigint() / 1000n), to: 0 };
for (const s of SCENARIOS) {
  for (const kind of WAYS) await round(kind, s, WARMUP_S);
  const acc = Object.fromEntries(WAYS.map((w) => [w, { done: 0, elapsed: 0, lat: [], cpuMs: 0 }]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of WAYS) {
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
  const [bridged, plainWay, direct] = WAYS.map((w) => sum(acc[w]));
  const row = {
    scenario: s.name,
    window: s.window,
    bridged,
    plain: plainWay,
    direct,
    ratio: bridged.rps / direct.rps,
    ratioToPlain: bridged.rps / plainWay.rps,
    cpuRatio: bridged.cpuPerReqMs / direct.cpuPerReqMs,
    cpuToPlain: bridged.cpuPerReqMs / plainWay.cpuPerReqMs,
    p99AddedMs: bridged.p99 - direct.p99,
    p99OverPlainMs: bridged.p99 - plainWay.p99,
    bridgeRss: procRss(bridge.pid),
    plainRss: procRss(plain.pid),
  };
  results.push(row);
  process.stderr.write(`${s.name}, window ${s.window}: ${Math.round(bridged.rps)} bridged, ${Math.round(plainWay.rps)} plain, ${Math.round(direct.rps)} direct req/s\n`);
}

span.to = Number(process.hrtime.bigint() / 1000n);
const peakRss = procRss(bridge.pid).peak;
const plainPeakRss = procRss(plain.pid).peak;
bridge.kill('SIGTERM');
plain.kill('SIGTERM');
await Promise.all([once(bridge, 'exit'), once(plain, 'exit')]);
sim.kill('SIGTERM');
await pool.close();
cloud.close();

if (opt.profile) writeFileSync(join(opt.profile, 'served.json'), `${JSON.stringify({ ...served, span })}\n`);

const f = (n, d = 0) => n.toFixed(d);
const mib = (b) => `${f(b / 1048576, 1)} MiB`;
const us = (ms) => `${f(ms * 1000)}`;
const mark = (ok) => (ok ? '✓' : '✗');
const lines = [
  '| scenario | window | req/s bridge / plain / direct | CPU µs/req bridge / plain / direct | p99 ms bridge / plain / direct | throughput vs plain, vs direct | CPU vs plain, vs direct | RSS bridge / plain | targets |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => {
    // The targets of the round (see the README's Performance section): at every window and size no more CPU per request
    // than the plain bridge, no less throughput, p99 within 1 ms of it; at 256, 1 KiB: CPU within 1.6x and throughput
    // at least 0.6 of the direct client's; 1 MiB: throughput at least 0.3 of direct.
    const t = [r.cpuToPlain <= 1, r.ratioToPlain >= 1, r.p99OverPlainMs <= 1];
    if (r.window === 256 && r.scenario === 'GET 1 KiB') t.push(r.cpuRatio <= 1.6, r.ratio >= 0.6);
    if (r.scenario === 'GET 1 MiB') t.push(r.ratio >= 0.3);
    return `| ${r.scenario} | ${r.window} | ${f(r.bridged.rps)} / ${f(r.plain.rps)} / ${f(r.direct.rps)} | ${us(r.bridged.cpuPerReqMs)} / ${us(r.plain.cpuPerReqMs)} / ${us(r.direct.cpuPerReqMs)} | ${f(r.bridged.p99, 2)} / ${f(r.plain.p99, 2)} / ${f(r.direct.p99, 2)} | ${f(r.ratioToPlain, 2)}, ${f(r.ratio, 2)} | ${f(r.cpuToPlain, 2)}, ${f(r.cpuRatio, 2)} | ${mib(r.bridgeRss.rss)} / ${mib(r.plainRss.rss)} | ${t.map(mark).join('')} |`;
  }),
];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}`;
console.log(lines.join('\n'));
console.log(`\npeak RSS: bridge ${mib(peakRss)}, plain bridge ${mib(plainPeakRss)}; ${ROUNDS} rounds of ${ROUND_S} s per way and scenario, alternating; ${machine}`);
console.log('targets: CPU/req ≤ plain, req/s ≥ plain, p99 ≤ plain + 1 ms; at window 256, 1 KiB also CPU ≤ 1.6× direct and req/s ≥ 0.6× direct; 1 MiB req/s ≥ 0.3× direct');
writeFileSync(
  join(root, 'bench', 'results.json'),
  `${JSON.stringify({ machine, roundSeconds: ROUND_S, rounds: ROUNDS, connections: CONNECTIONS, peakRss, plainPeakRss, results }, null, 2)}\n`,
);
process.exit(0);
