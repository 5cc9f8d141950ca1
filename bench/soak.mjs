#!/usr/bin/env node
// Soak: many requests through the built bridge while the cloud drops the link at random.
// Counts what matters: every id answered, none executed twice, none delivered twice, and the
// bridge's memory at the start and the end.
//
//   npm run soak                      # 100000 requests
//   npm run soak -- --requests 20000 --window 256 --drop-ms 300
//   npm run soak -- --chaos           # the chaos soak (kill -9, restarts, drops right after
//                                     # reconnects, with a state dir): see bench/chaos.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

// `--chaos` runs belong to bench/chaos.mjs, with options of their own.
if (process.argv.includes('--chaos')) {
  const { runChaos } = await import('./chaos.mjs');
  process.exit(await runChaos(process.argv.slice(2)));
}

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    window: { type: 'string', default: '256' },
    'drop-ms': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
    'state-dir': { type: 'boolean', default: false },
  },
});
const TOTAL = Number(opt.requests);
const WINDOW = Number(opt.window);
const DROP_MS = Number(opt['drop-ms']);
const TOKEN = 'soak-token';

const rssOf = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

// The REST API: counts executions per id; answers a small job document after a short, random wait.
const executions = new Map();
const rest = createServer((req, res) => {
  const id = req.url.slice(req.url.lastIndexOf('/') + 1);
  executions.set(id, (executions.get(id) ?? 0) + 1);
  req.resume();
  req.on('end', () => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/vnd.netbackup+json;version=1.0' });
      res.end(JSON.stringify({ data: { type: 'job', id, attributes: { state: 'DONE', status: 0 } } }));
    }, Math.random() * 3);
  });
});
rest.keepAliveTimeout = 30_000;
rest.listen(0, '127.0.0.1');
await once(rest, 'listening');

// The cloud: keeps WINDOW requests outstanding, resends every unanswered one after a reconnect.
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
await once(wss, 'listening');
const deliveries = new Map();
const outstanding = new Set();
let nextId = 0;
let answered = 0;
let duplicatesDelivered = 0;
let connections = 0;
let drops = 0;
let current = null;
let finish;
const finished = new Promise((resolve) => (finish = resolve));

const command = (id) =>
  JSON.stringify({
    version: '1.0', id, type: 'COMMAND', subType: 'REQUEST', timeStamp: Math.floor(Date.now() / 1000),
    payload: { uri: `/netbackup/admin/jobs/${id}`, method: 'POST', headers: { 'Content-Type': 'application/vnd.netbackup+json;version=1.0', Authorization: 'soak-jwt' }, parameters: '{"soak":true}' },
  });

function topUp(ws) {
  while (outstanding.size < WINDOW && nextId < TOTAL && ws.readyState === ws.OPEN) {
    const id = `SOAK-${nextId++}`;
    outstanding.add(id);
    ws.send(command(id));
  }
}

wss.on('connection', (ws) => {
  connections++;
  let ready = false;
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString('utf8'));
    if (msg.type === 'CONNECT' && msg.subType === 'REQUEST') {
      ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: Math.floor(Date.now() / 1000), payload: { valid: msg.payload.token === TOKEN } }));
      ready = true;
      current = ws;
      for (const id of outstanding) ws.send(command(id));
      topUp(ws);
      return;
    }
    if (!ready || msg.type !== 'COMMAND' || msg.subType !== 'RESPONSE') return;
    const n = (deliveries.get(msg.id) ?? 0) + 1;
    deliveries.set(msg.id, n);
    if (n > 1) duplicatesDelivered++;
    if (outstanding.delete(msg.id)) answered++;
    if (answered === TOTAL) finish();
    topUp(ws);
  });
});

// The bridge, as a user runs it.
const stateDir = opt['state-dir'] ? mkdtempSync(join(tmpdir(), 'nbwss-soak-')) : null;
const bridge = spawn(process.execPath, [join(root, 'bin', 'nbwss-bridge'), 'run'], {
  cwd: root,
  env: {
    PATH: process.env.PATH,
    NBWSS_CLOUD_URL: `ws://127.0.0.1:${wss.address().port}/soak`,
    NBWSS_CLOUD_TOKEN: TOKEN,
    NBWSS_REST_BASE_URL: `http://127.0.0.1:${rest.address().port}`,
    NBWSS_CONCURRENCY: opt.concurrency,
    NBWSS_MAX_PENDING: String(WINDOW * 4),
    NBWSS_RECONNECT_MIN_MS: '20',
    NBWSS_RECONNECT_MAX_MS: '200',
    NBWSS_LOG_LEVEL: 'error',
    ...(stateDir ? { NBWSS_STATE_DIR: stateDir } : {}),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const started = Date.now();
while (current === null) await new Promise((r) => setTimeout(r, 20));
const rssStart = rssOf(bridge.pid);
let rssPeak = rssStart;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(bridge.pid))), 200);

// Random drops of the link, from the cloud's side.
const dropper = setInterval(() => {
  if (Math.random() < 0.5 && current && current.readyState === current.OPEN) {
    drops++;
    current.terminate();
    current = null;
  }
}, DROP_MS);
const progress = setInterval(() => process.stderr.write(`\ranswered ${answered}/${TOTAL}, drops ${drops}   `), 1000);

const timeout = setTimeout(() => finish('timeout'), Math.max(120_000, TOTAL * 2));
const outcome = await finished;
clearInterval(dropper);
clearInterval(progress);
clearTimeout(timeout);
await new Promise((r) => setTimeout(r, 500));
clearInterval(sampler);
const rssEnd = rssOf(bridge.pid);
const seconds = (Date.now() - started) / 1000;

const executedTwice = [...executions.values()].filter((n) => n > 1).length;
const lost = TOTAL - answered;
const result = {
  requests: TOTAL,
  answered,
  lost,
  executedTwice,
  duplicatesDelivered,
  restCalls: [...executions.values()].reduce((a, b) => a + b, 0),
  connections,
  drops,
  seconds: Number(seconds.toFixed(1)),
  rssStart: mib(rssStart),
  rssPeak: mib(rssPeak),
  rssEnd: mib(rssEnd),
  stateDir: stateDir !== null,
};
process.stderr.write('\n');
console.log(`requests answered     ${answered} of ${TOTAL}${outcome === 'timeout' ? ' (timed out)' : ''}`);
console.log(`lost                  ${lost}   (must be 0)`);
console.log(`duplicates executed   ${executedTwice}   (must be 0)`);
console.log(`duplicates delivered  ${duplicatesDelivered}`);
console.log(`link drops            ${drops} (${connections} connections)`);
console.log(`time                  ${seconds.toFixed(1)} s, ${Math.round(answered / seconds)} requests/s`);
console.log(`bridge RSS            start ${mib(rssStart)}, peak ${mib(rssPeak)}, end ${mib(rssEnd)}`);
console.log(JSON.stringify(result));

bridge.kill('SIGTERM');
await once(bridge, 'exit');
wss.close();
rest.closeAllConnections();
rest.close();
if (stateDir) rmSync(stateDir, { recursive: true, force: true });
process.exit(lost === 0 && executedTwice === 0 ? 0 : 1);
