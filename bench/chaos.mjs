#!/usr/bin/env node
// Chaos soak. This file owns `npm run soak -- --chaos` (bench/soak.mjs hands every `--chaos`
// run to it); after `npm run build` it also runs on its own: `node bench/chaos.mjs`.
//
// It plays both neighbours of the built daemon, which runs as a child process the way a user
// runs it (`node bin/nbwss-bridge run`, NBWSS_* variables, a state dir in a temporary directory):
//   - the cloud application sends unique POSTs (each id once in its intent, --window of them
//     outstanding), resends every unanswered id after each reconnect, and drops the link at
//     random: terminate (FIN or RST), or close with 1001 / 1011 / 1013 (half of those finishing
//     the closing handshake 5-50 ms late); about a third of the drops come within 40 ms of a reconnect,
//     while the resends stream back;
//   - the REST API records every execution per id (the id is the last path segment) and answers
//     201 with a body naming the id, after 0-5 ms (now and then 50 ms);
// and it kill -9s the daemon and restarts it on the same state dir (--kills times, and once more
// during start-up, right as it begins rewriting its journal).
//
// Then it checks what README.md ("Guarantees") promises; the exit status is 1 when any is not 0:
//   1 ids executed more than once               5 answers whose body names another id
//   2 ids never answered (within --settle-ms)   6 stalls: unanswered for 10 s of link-up time
//   3 ids answered 2xx, not run exactly once    7 drops or restarts without a connection in 10 s
//   4 ids answered 409, run more than once      8 daemon exits the soak did not cause
// and: ids with conflicting answers (a 2xx and a non-2xx, or naming different ids), small answers
// replaced by NBW_ERR_ANSWER_TOO_LARGE (no cloud refuses a hundred bytes), answers or
// runs of ids never sent, a daemon wedged (/healthz silent 15 s) or above 1.5 GiB RSS, requests
// left unsent at the deadline. Ids answered twice are counted and reported, not failed. A daemon
// that is wedged, runs away or does not reconnect is killed (a "recovery" kill) so the run goes on.
//
//   npm run soak -- --chaos                                   # 20000 requests, 4 kills
//   npm run soak -- --chaos --requests 3000 --kills 2 --seed 7 --json
//
// Options: --requests N (20000), --window N (128), --drop-ms MS (mean time between drops, 100),
// --kills N (4), --seed N (random; printed, so a run can be repeated), --json (a JSON summary as
// the last line), --settle-ms MS (how long unanswered ids may take after the last request, 12000),
// --max-seconds S (deadline of the sending phase), --concurrency N (NBWSS_CONCURRENCY),
// --keep (keep the work dir: state dir and daemon.log; it is always kept when a check fails).
//
// The seed makes every random decision repeatable (drop times and kinds, REST delays, kill
// points); what the timing of two processes on a busy machine does with them is not.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'chaos-soak-token';
const ID_PREFIX = 'CHAOS-';
const ID_PATTERN = /CHAOS-\d+/g;
/** A request unanswered for this long while the link was up is a stall. */
const STALL_MS = 10_000;
/** A drop (or a restart) must be followed by a new connection within this long. */
const RECONNECT_LIMIT_MS = 10_000;
/**
 * A daemon whose /healthz has not answered for this long is wedged: it is killed so the run goes
 * on. Longer than the stall and reconnect limits, so those checks see the wedge first.
 */
const WEDGE_MS = 15_000;
/** "Right after a reconnect": a third of the drops come this soon after the CONNECT is answered. */
const EARLY_DROP_MS = 40;
/** A daemon above this RSS has run away (the README promises bounded memory): it is killed so the run goes on. */
const RSS_LIMIT = 1.5 * 1024 ** 3;
const JOURNAL_TMP = 'journal.ndjson.tmp';
const DETAILS_PER_CHECK = 6;

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      chaos: { type: 'boolean', default: true },
      requests: { type: 'string', default: '20000' },
      window: { type: 'string', default: '128' },
      'drop-ms': { type: 'string', default: '100' },
      kills: { type: 'string', default: '4' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      'settle-ms': { type: 'string', default: '12000' },
      'max-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${values[name]}`);
    return n;
  };
  const requests = int('requests', 1);
  return {
    requests,
    window: int('window', 1),
    dropMs: int('drop-ms', 1),
    kills: int('kills', 0),
    seed: values.seed === undefined ? Date.now() % 2 ** 31 : int('seed', 0),
    json: values.json,
    settleMs: int('settle-ms', 0),
    maxSeconds: values['max-seconds'] === undefined ? 20 + Math.ceil(requests * 0.003) : int('max-seconds', 1),
    concurrency: values.concurrency === undefined ? null : int('concurrency', 1),
    keep: values.keep,
  };
}

// ---------------------------------------------------------------------------------------------
// Randomness, clocks, small helpers

/** mulberry32: a tiny seeded 32-bit PRNG, good enough to make a run repeatable. */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Dice {
  constructor(seed) {
    this.next = mulberry32(seed);
  }
  chance(p) {
    return this.next() < p;
  }
  between(lo, hi) {
    return lo + (hi - lo) * this.next();
  }
  /** Exponentially distributed, with this mean (the gaps of a Poisson process). */
  exp(mean) {
    return -mean * Math.log(1 - this.next());
  }
  pick(list) {
    return list[Math.floor(this.next() * list.length)];
  }
}

const T0 = performance.now();
/** Milliseconds since the soak started. */
const now = () => performance.now() - T0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmtMs = (ms) => (ms === null || ms === undefined ? '-' : `${ms.toFixed(1)}`);
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Time the link has been up (CONNECT answered, daemon alive), summed over the run. */
class UpClock {
  #total = 0;
  #since = null;
  start(at) {
    if (this.#since === null) this.#since = at;
  }
  stop(at) {
    if (this.#since === null) return;
    this.#total += at - this.#since;
    this.#since = null;
  }
  read(at) {
    return this.#total + (this.#since === null ? 0 : at - this.#since);
  }
}

// ---------------------------------------------------------------------------------------------
// The REST API

/** Records each execution per id and answers 201 with a body naming the id. */
async function startRestApi(dice, generation) {
  const executions = new Map(); // id -> [{ at, gen }]
  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    const path = (req.url ?? '').split('?')[0];
    const id = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    if (req.method !== 'POST' || !path.startsWith('/netbackup/admin/jobs/')) {
      res.writeHead(404).end();
      return;
    }
    const runs = executions.get(id) ?? [];
    runs.push({ at: now(), gen: generation() });
    executions.set(id, runs);
    const delay = dice.chance(0.02) ? 50 : dice.between(0, 5);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/vnd.netbackup+json;version=1.0' });
        res.end(JSON.stringify({ data: { type: 'job', id, attributes: { state: 'QUEUED', status: 0 } } }));
      }, delay),
    );
  });
  server.keepAliveTimeout = 30_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, executions, url: `http://127.0.0.1:${server.address().port}` };
}

// ---------------------------------------------------------------------------------------------
// The daemon, as a child process

class DaemonProcess {
  #env;
  #log;
  #onExit;
  #expected = new WeakSet();
  /** The last lines it wrote (stdout and stderr, every generation), for reports. */
  #tail = [];
  gen = 0;
  child = null;
  alive = false;
  spawnedAt = 0;
  /** Health of the current generation: when /healthz last answered, CPU samples. */
  healthSeen = false;
  healthyAt = 0;
  cpu = [];

  constructor({ env, logPath, onExit }) {
    this.#env = env;
    this.#log = createWriteStream(logPath);
    this.#onExit = onExit;
  }

  spawn() {
    const gen = ++this.gen;
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'nbwss-bridge'), 'run'], {
      cwd: ROOT,
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child = child;
    this.alive = true;
    this.spawnedAt = now();
    this.healthSeen = false;
    this.healthyAt = now();
    this.cpu = [];
    this.#line(gen, `--- generation ${gen} spawned, pid ${child.pid}`);
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => this.#line(gen, l));
    void child.exited.then(({ code, signal }) => {
      if (this.child === child) this.alive = false;
      this.#line(gen, `--- generation ${gen} exited: code ${code}, signal ${signal}`);
      this.#onExit({ gen, code, signal, expected: this.#expected.has(child), at: now() });
    });
    return gen;
  }

  /** kill -9, and wait until it is gone. */
  async kill9() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.#expected.add(child);
    this.alive = false;
    child.kill('SIGKILL');
    await child.exited;
  }

  /** SIGTERM, as at the end of a run; kill -9 after `graceMs`. Returns true when it exited by itself. */
  async stop(graceMs) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return true;
    this.#expected.add(child);
    child.kill('SIGTERM');
    const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) await this.kill9();
    this.alive = false;
    return !timedOut;
  }

  rss() {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** CPU time used (ms), from /proc/<pid>/stat (utime + stime, in 10 ms ticks). */
  cpuMs() {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return null;
    }
  }

  /** Polls /healthz once (the event loop of the daemon answers it) and samples its CPU. */
  async probe(metricsUrl) {
    if (!this.alive) return;
    const gen = this.gen;
    const cpu = this.cpuMs();
    if (cpu !== null) this.cpu = [...this.cpu.slice(-5), { at: now(), cpu }];
    try {
      const res = await fetch(`${metricsUrl}/healthz`, { signal: AbortSignal.timeout(1500) });
      await res.arrayBuffer();
      if (res.ok && gen === this.gen && this.alive) {
        this.healthSeen = true;
        this.healthyAt = now();
      }
    } catch {
      // Not listening yet, dead, or its event loop is busy: the watchdog decides which.
    }
  }

  /** What the daemon is doing, for a report: CPU use lately, memory, /healthz, its last lines. */
  diagnose(lines) {
    const [first, last] = [this.cpu[0], this.cpu[this.cpu.length - 1]];
    const cpuPct = first && last && last.at > first.at ? Math.round((100 * (last.cpu - first.cpu)) / (last.at - first.at)) : null;
    return {
      gen: this.gen,
      alive: this.alive,
      cpuPct,
      rss: this.rss(),
      healthzSilentMs: this.healthSeen ? Math.round(now() - this.healthyAt) : null,
      tail: this.tail(lines, this.gen),
    };
  }

  /** The last lines it wrote, of one generation or of all. */
  tail(lines, gen = null) {
    return this.#tail.filter((t) => gen === null || t.gen === gen).slice(-lines).map((t) => t.line);
  }

  async close() {
    this.#log.end();
    await once(this.#log, 'close').catch(() => {});
  }

  #line(gen, text) {
    const stamp = `[g${gen} +${now().toFixed(0)}ms]`;
    this.#log.write(`${stamp} ${text}\n`);
    const line = `${stamp} ${compactLogLine(text)}`;
    this.#tail.push({ gen, line: line.length > 400 ? `${line.slice(0, 400)}…` : line });
    if (this.#tail.length > 400) this.#tail.splice(0, 200);
  }
}

const LOG_LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields of the daemon's JSON log lines that say nothing here (the soak knows them). */
const LOG_NOISE = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'mod', 'url', 'next', 'group']);

/** A pino line, shortened for a report: `warn link: cloud connection lost; reconnecting conn=3 reason="closed 1006"`. */
function compactLogLine(text) {
  let rec;
  try {
    rec = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof rec !== 'object' || rec === null || !('msg' in rec)) return text;
  const fields = Object.entries(rec)
    .filter(([k]) => !LOG_NOISE.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)?.slice(0, 200)}`);
  return `${LOG_LEVELS[rec.level] ?? rec.level} ${rec.mod ? `${rec.mod}: ` : ''}${rec.msg} ${fields.join(' ')}`.trim();
}

// ---------------------------------------------------------------------------------------------
// The cloud's bookkeeping: every id, its sends and its answers

function parseAnswer(msg, conn, at) {
  const payload = msg.payload ?? {};
  let body = typeof payload.body === 'string' ? payload.body : '';
  if (payload.bodyEncoding === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  let code = payload.headers?.['x-nbwss-bridge-error'] ?? null;
  if (code === null) {
    try {
      code = JSON.parse(body)?.details?.code ?? null;
    } catch {
      code = null;
    }
  }
  const named = [...new Set(body.match(ID_PATTERN) ?? [])];
  return { id: msg.id, at, conn: conn.n, status: payload.responseCode, code, body, named };
}

const statusLabel = (a) => `${a.status}${a.code ? ` ${a.code}` : ''}`;
const is2xx = (a) => a.status >= 200 && a.status < 300;

class Ledger {
  records = new Map();
  /** Ids sent and not answered yet, oldest first. */
  outstanding = new Set();
  issued = 0;
  resends = 0;
  /** Answers under ids the cloud never sent. */
  stray = [];

  /** A new id: sent for the first time now. */
  issue(upNow) {
    const id = `${ID_PREFIX}${this.issued++}`;
    this.records.set(id, { id, firstSentUp: upNow, sends: [], answers: [], stall: null });
    this.outstanding.add(id);
    return id;
  }

  sent(id, conn, at, resend) {
    this.records.get(id).sends.push({ at, conn: conn.n, resend });
    if (resend) this.resends++;
  }

  answer(msg, conn, at) {
    const answer = parseAnswer(msg, conn, at);
    const rec = this.records.get(msg.id);
    if (!rec) {
      this.stray.push(answer);
      return;
    }
    rec.answers.push(answer);
    this.outstanding.delete(msg.id);
  }
}

// ---------------------------------------------------------------------------------------------
// The cloud: a WebSocket endpoint that answers the CONNECT, sends COMMANDs and drops the link

const envelope = (id, type, subType, payload) =>
  JSON.stringify({ version: '1.0', id, type, subType, timeStamp: Math.floor(Date.now() / 1000), payload });

const commandFrame = (id) =>
  envelope(id, 'COMMAND', 'REQUEST', {
    uri: `/netbackup/admin/jobs/${id}`,
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.netbackup+json;version=1.0', Authorization: 'chaos-jwt' },
    parameters: JSON.stringify({ chaos: true, id }),
  });

class Cloud {
  #wss = null;
  #hooks;
  #generation;
  /** Every connection, numbered from 1. */
  conns = [];
  /** The connection whose CONNECT was answered and that was not dropped since, or null. */
  current = null;
  unparsable = 0;
  beforeHandshake = 0;

  /** hooks: onConnectRequest(conn), onReady(conn), onDown(conn), onAnswer(conn, msg). */
  constructor({ hooks, generation }) {
    this.#hooks = hooks;
    this.#generation = generation;
  }

  async listen() {
    this.#wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
    await once(this.#wss, 'listening');
    this.#wss.on('connection', (ws) => this.#accept(ws));
  }

  get url() {
    return `ws://127.0.0.1:${this.#wss.address().port}/chaos`;
  }

  send(conn, frame) {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(frame);
  }

  /**
   * Drops the current connection. `how`: 'terminate' (the socket is destroyed: FIN), 'reset' (a
   * TCP RST, as a middlebox that gives up on a connection sends), or a close code. `lingerMs` > 0
   * plays a cloud slow to finish the closing handshake: it stops reading that long after its
   * close frame, so the daemon's side stays half-closed meanwhile.
   */
  drop(how, lingerMs = 0) {
    const conn = this.current;
    // ws keeps its socket in `_socket`.
    const socket = conn.ws._socket;
    conn.droppedByCloud = true;
    if (how === 'terminate' || how === 'reset') {
      this.#end(conn, how);
      if (how === 'reset' && socket) socket.resetAndDestroy();
      else conn.ws.terminate();
      return conn;
    }
    this.#end(conn, `close ${how}${lingerMs > 0 ? ` +${lingerMs.toFixed(0)} ms linger` : ''}`);
    conn.ws.close(how, 'chaos soak');
    if (lingerMs > 0 && socket) {
      socket.pause();
      setTimeout(() => socket.resume(), lingerMs);
    }
    return conn;
  }

  /** The daemon died: the current connection is gone, whatever the socket says yet. */
  lost(why) {
    if (this.current) this.#end(this.current, why);
  }

  async close() {
    for (const c of this.conns) c.ws.terminate();
    await new Promise((resolve) => this.#wss.close(resolve));
  }

  #accept(ws) {
    const conn = { n: this.conns.length + 1, gen: this.#generation(), ws, openedAt: now(), connectAt: null, readyAt: null, endedAt: null, endedBy: null, sent: 0, resent: 0, answers: 0 };
    this.conns.push(conn);
    ws.on('error', () => {});
    ws.on('message', (data) => this.#receive(conn, data));
    ws.on('close', (code) => this.#end(conn, `closed by the daemon (${code})`));
  }

  #receive(conn, data) {
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      this.unparsable++;
      return;
    }
    if (msg.type === 'CONNECT' && msg.subType === 'REQUEST') {
      this.#handshake(conn, msg);
      return;
    }
    if (conn.readyAt === null) {
      this.beforeHandshake++;
      return;
    }
    if (msg.type === 'COMMAND' && msg.subType === 'RESPONSE') {
      conn.answers++;
      this.#hooks.onAnswer(conn, msg);
    }
  }

  #handshake(conn, msg) {
    conn.connectAt = now();
    this.#hooks.onConnectRequest(conn);
    if (conn.endedAt !== null) return;
    const valid = msg.payload?.token === TOKEN;
    conn.ws.send(envelope(msg.id, 'CONNECT', 'RESPONSE', { valid }));
    if (!valid) return;
    if (this.current && this.current !== conn) this.#end(this.current, 'superseded');
    conn.readyAt = now();
    this.current = conn;
    this.#hooks.onReady(conn);
  }

  #end(conn, why) {
    if (conn.endedAt === null) {
      conn.endedAt = now();
      conn.endedBy = why;
    }
    if (this.current === conn) {
      this.current = null;
      this.#hooks.onDown(conn);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run: traffic, drops, kills, watchdogs

class ChaosRun {
  constructor(opts) {
    this.opts = opts;
    this.chaosDice = new Dice(opts.seed);
    this.restDice = new Dice((opts.seed ^ 0x5bd1e995) >>> 0);
    this.ledger = new Ledger();
    this.up = new UpClock();
    this.events = []; // { at, what }: spawns, kills, exits, drops, connections
    this.drops = [];
    this.kills = []; // { at, gen, n, kind: 'chaos' | 'recovery', reason }
    this.startupKill = null;
    this.restarts = []; // { gen, spawnedAt, connectAt }
    this.exits = []; // daemon exits the soak did not cause
    this.noReconnect = []; // drops or restarts without a new connection within RECONNECT_LIMIT_MS
    this.stalls = [];
    this.wedges = [];
    this.runaway = [];
    this.busy = false; // a kill and restart is under way
    this.chaosOn = true;
    this.finishing = false;
    this.earlyArmed = false;
    this.killPoints = this.#planKills();
    this.timers = [];
  }

  log(what) {
    this.events.push({ at: now(), what });
  }

  // --- set-up ------------------------------------------------------------------------------

  async start() {
    const o = this.opts;
    this.workDir = mkdtempSync(join(tmpdir(), 'nbwss-chaos-'));
    this.stateDir = join(this.workDir, 'state');
    this.rest = await startRestApi(this.restDice, () => this.daemon?.gen ?? 0);
    this.cloud = new Cloud({
      generation: () => this.daemon.gen,
      hooks: {
        onConnectRequest: (conn) => this.#onConnectRequest(conn),
        onReady: (conn) => this.#onReady(conn),
        onDown: (conn) => this.#onDown(conn),
        onAnswer: (conn, msg) => this.#onAnswer(conn, msg),
      },
    });
    await this.cloud.listen();
    this.metricsUrl = `http://127.0.0.1:${await freePort()}`;
    this.daemon = new DaemonProcess({
      env: {
        PATH: process.env.PATH,
        NBWSS_CLOUD_URL: this.cloud.url,
        NBWSS_CLOUD_TOKEN: TOKEN,
        NBWSS_REST_BASE_URL: this.rest.url,
        NBWSS_STATE_DIR: this.stateDir,
        NBWSS_RECONNECT_MIN_MS: '20',
        NBWSS_RECONNECT_MAX_MS: '200',
        NBWSS_LOG_LEVEL: 'warn',
        NBWSS_METRICS_LISTEN: this.metricsUrl.slice('http://'.length),
        ...(o.concurrency === null ? {} : { NBWSS_CONCURRENCY: String(o.concurrency) }),
      },
      logPath: join(this.workDir, 'daemon.log'),
      onExit: (e) => this.#onExit(e),
    });
    this.#spawn();
    this.#scheduleDrop();
    this.timers.push(setInterval(() => this.#maybeKill(), 10));
    this.timers.push(setInterval(() => this.#watch(), 250));
    this.timers.push(setInterval(() => void this.daemon.probe(this.metricsUrl), 500));
    if (process.stderr.isTTY) this.timers.push(setInterval(() => this.#progress(), 1000));
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  #spawn() {
    const gen = this.daemon.spawn();
    this.restarts.push({ gen, spawnedAt: now(), connectAt: null, flagged: false });
    this.log(`daemon g${gen} spawned`);
  }

  // --- traffic -----------------------------------------------------------------------------

  #onConnectRequest(conn) {
    this.log(`c${conn.n} (g${conn.gen}) CONNECT REQUEST`);
    for (const d of this.drops) if (d.reconnectAt === null && !d.excused) d.reconnectAt = conn.connectAt;
    const r = this.restarts.find((x) => x.gen === conn.gen && x.connectAt === null);
    if (r) r.connectAt = conn.connectAt;
    this.onConnectRequestOnce?.(conn);
  }

  #onReady(conn) {
    this.up.start(now());
    for (const id of this.ledger.outstanding) this.#send(conn, id, true);
    this.#topUp();
    this.#maybeDropEarly(conn);
  }

  #onDown(conn) {
    this.up.stop(now());
    if (!conn.droppedByCloud) this.log(`c${conn.n} down: ${conn.endedBy}`);
  }

  #onAnswer(conn, msg) {
    this.ledger.answer(msg, conn, now());
    this.#topUp();
    this.#checkDone();
  }

  #send(conn, id, resend) {
    this.ledger.sent(id, conn, now(), resend);
    if (resend) conn.resent++;
    else conn.sent++;
    this.cloud.send(conn, commandFrame(id));
  }

  #topUp() {
    const conn = this.cloud.current;
    const { ledger } = this;
    if (!conn || this.finishing) return;
    while (ledger.outstanding.size < this.opts.window && ledger.issued < this.opts.requests) {
      this.#send(conn, ledger.issue(this.up.read(now())), false);
    }
    if (ledger.issued === this.opts.requests && this.settleFrom === undefined && this.killsDone() === this.opts.kills) this.#settle();
  }

  // --- drops -------------------------------------------------------------------------------

  #scheduleDrop() {
    this.dropTimer = setTimeout(() => {
      this.#timedDrop();
      if (this.chaosOn) this.#scheduleDrop();
    }, this.chaosDice.exp(this.opts.dropMs));
  }

  #canDrop() {
    return this.chaosOn && !this.busy && this.daemon.alive && this.cloud.current !== null;
  }

  #timedDrop() {
    // Drops within EARLY_DROP_MS of a reconnect are the early ones' business, so they stay a third.
    if (!this.#canDrop() || now() - this.cloud.current.readyAt < EARLY_DROP_MS) return;
    this.#drop('timer');
    // Half of the timed drops are followed by one right after the next reconnect: a third in all.
    if (this.chaosDice.chance(0.5)) this.earlyArmed = true;
  }

  #maybeDropEarly(conn) {
    if (!this.earlyArmed || !this.chaosOn) return;
    this.earlyArmed = false;
    const delay = this.chaosDice.between(0, EARLY_DROP_MS - 10);
    setTimeout(() => {
      if (this.#canDrop() && this.cloud.current === conn) this.#drop('early');
    }, delay);
  }

  #drop(trigger) {
    const how = this.chaosDice.chance(0.6) ? this.chaosDice.pick(['terminate', 'reset']) : this.chaosDice.pick([1001, 1011, 1013]);
    const lingerMs = typeof how === 'number' && this.chaosDice.chance(0.5) ? this.chaosDice.between(5, 50) : 0;
    const at = now();
    const conn = this.cloud.drop(how, lingerMs);
    const d = {
      at, conn: conn.n, gen: conn.gen, trigger, how: conn.endedBy, sinceReady: at - conn.readyAt,
      outstanding: this.ledger.outstanding.size, answersOnConn: conn.answers, reconnectAt: null, excused: false, flagged: false,
    };
    this.drops.push(d);
    this.log(`c${conn.n} dropped by the cloud (${d.how}, ${trigger}, ${d.sinceReady.toFixed(1)} ms after its CONNECT was answered)`);
  }

  // --- kills -------------------------------------------------------------------------------

  /** Kill points, as numbers of ids issued: spread over 5-85 % of the run, jittered. */
  #planKills() {
    const { kills, requests } = this.opts;
    const points = [];
    for (let k = 0; k < kills; k++) {
      const slot = (k + this.chaosDice.between(0.2, 0.8)) / kills;
      points.push(Math.max(1, Math.floor(requests * (0.05 + 0.8 * slot))));
    }
    return points.sort((a, b) => a - b);
  }

  killsDone() {
    return this.kills.filter((k) => k.kind === 'chaos').length;
  }

  #maybeKill() {
    const done = this.killsDone();
    if (!this.chaosOn || this.busy || done >= this.killPoints.length) return;
    if (this.ledger.issued < this.killPoints[done] || this.cloud.current === null) return;
    // The last restart also gets killed once during start-up, while it compacts its journal.
    const startupKill = done === this.killPoints.length - 1;
    void this.#killAndRestart('chaos', 'planned kill -9', startupKill);
  }

  /** kill -9, wait until it is gone, restart on the same state dir. */
  async #killAndRestart(kind, reason, startupKill = false) {
    if (this.busy) return;
    this.busy = true;
    const gen = this.daemon.gen;
    this.cloud.lost(`daemon g${gen} killed`);
    this.kills.push({ at: now(), gen, n: this.kills.length + 1, kind, reason });
    this.log(`daemon g${gen} kill -9 (${kind}: ${reason})`);
    await this.daemon.kill9();
    this.#excuseReconnects();
    await sleep(this.chaosDice.between(20, 150));
    if (startupKill) await this.#killDuringStartup();
    if (!this.finishing) this.#spawn();
    this.busy = false;
    this.#topUp();
  }

  /** Drops and restarts of a generation that is now dead need no reconnect from it. */
  #excuseReconnects() {
    for (const d of this.drops) if (d.reconnectAt === null) d.excused = true;
    for (const r of this.restarts) if (r.connectAt === null) r.excused = true;
  }

  /**
   * Spawns the daemon and kills it as soon as it starts rewriting its journal (the temporary
   * file of the compaction appears); if it gets to the CONNECT first, it is killed then and
   * tried again (three attempts).
   */
  async #killDuringStartup() {
    const tmp = join(this.stateDir, JOURNAL_TMP);
    const attempts = [];
    for (let attempt = 1; attempt <= 3 && !this.finishing; attempt++) {
      let fire;
      const fired = new Promise((resolve) => (fire = resolve));
      const watcher = watch(this.stateDir, (_event, name) => name === JOURNAL_TMP && fire('journal rewrite began'));
      this.onConnectRequestOnce = () => fire('CONNECT arrived first');
      const timer = setTimeout(() => fire('no rewrite seen within 5 s'), 5000);
      const journalBytes = fileSize(join(this.stateDir, 'journal.ndjson'));
      this.#spawn();
      const spawnedAt = now();
      const trigger = await fired;
      // The first attempt lets the rewrite run 0-15 ms, to land anywhere in it (or just after it:
      // then the next attempt kills at once).
      if (trigger === 'journal rewrite began' && attempt === 1) await sleep(this.chaosDice.between(0, 15));
      const afterMs = now() - spawnedAt;
      const gen = this.daemon.gen;
      this.cloud.lost(`daemon g${gen} killed during start-up`);
      await this.daemon.kill9();
      watcher.close();
      clearTimeout(timer);
      this.onConnectRequestOnce = undefined;
      this.#excuseReconnects();
      const tmpLeft = existsSync(tmp) ? fileSize(tmp) : null;
      const hit = trigger === 'journal rewrite began' && tmpLeft !== null;
      attempts.push({ attempt, gen, trigger, afterMs, journalBytes, tmpLeftBytes: tmpLeft, hit });
      this.kills.push({ at: now(), gen, n: this.kills.length + 1, kind: 'startup', reason: trigger });
      this.log(`daemon g${gen} kill -9 during start-up, ${afterMs.toFixed(1)} ms after spawn (${trigger}; ${hit ? `${JOURNAL_TMP} left with ${tmpLeft} bytes` : 'the rewrite was over'})`);
      if (hit) break;
      await sleep(50);
    }
    this.startupKill = { attempts, hit: attempts.some((a) => a.hit) };
  }

  #onExit({ gen, code, signal, expected, at }) {
    if (expected) return;
    this.exits.push({ gen, code, signal, at, tail: this.daemon.tail(30, gen) });
    this.log(`daemon g${gen} exited by itself: code ${code}, signal ${signal}`);
    this.cloud.lost(`daemon g${gen} exited`);
    this.#excuseReconnects();
    if (this.finishing || this.busy) return;
    this.busy = true;
    void sleep(200).then(() => {
      if (!this.finishing) this.#spawn();
      this.busy = false;
    });
  }

  // --- watchdogs ---------------------------------------------------------------------------

  #watch() {
    const at = now();
    this.#checkStalls(at);
    this.#checkReconnects(at);
    this.#checkWedged(at);
    this.#checkMemory(at);
    this.#checkDone();
    if (this.settleFrom === undefined && at > this.opts.maxSeconds * 1000) {
      this.log(`sending phase deadline (${this.opts.maxSeconds} s) reached`);
      this.deadlineHit = true;
      this.#settle();
    }
    if (this.settleFrom !== undefined && at - this.settleFrom > this.opts.settleMs) this.#end('settle time over');
  }

  /** Requests unanswered for STALL_MS of link-up time (time with the link down or the daemon dead does not count). */
  #checkStalls(at) {
    const upNow = this.up.read(at);
    for (const id of this.ledger.outstanding) {
      const rec = this.ledger.records.get(id);
      if (rec.stall !== null || upNow - rec.firstSentUp < STALL_MS) continue;
      rec.stall = { at, conn: this.cloud.current?.n ?? null, daemon: this.#diagnose(10) };
      this.stalls.push(id);
      this.log(`${id} stalled: unanswered for ${STALL_MS / 1000} s of link-up time`);
    }
  }

  #checkReconnects(at) {
    if (this.busy || !this.daemon.alive) return;
    const late = [
      ...this.drops.filter((d) => d.reconnectAt === null && !d.excused && !d.flagged && at - d.at >= RECONNECT_LIMIT_MS).map((d) => ({ d, kind: 'drop' })),
      ...this.restarts.filter((r) => r.connectAt === null && !r.excused && !r.flagged && at - r.spawnedAt >= RECONNECT_LIMIT_MS).map((d) => ({ d, kind: 'restart' })),
    ];
    if (late.length === 0) return;
    for (const { d, kind } of late) {
      d.flagged = true;
      this.noReconnect.push({ kind, ...d, diagnosis: this.#diagnose(20) });
    }
    this.log(`no new connection within ${RECONNECT_LIMIT_MS / 1000} s of a ${late[0].kind}; killing the daemon so the run goes on`);
    void this.#killAndRestart('recovery', `no new connection within ${RECONNECT_LIMIT_MS / 1000} s`);
  }

  #checkWedged(at) {
    const d = this.daemon;
    if (this.busy || !d.alive || !d.healthSeen || at - d.healthyAt < WEDGE_MS) return;
    this.wedges.push({ at, ...this.#diagnose(20) });
    this.log(`daemon g${d.gen}: /healthz silent for ${WEDGE_MS / 1000} s; killing it so the run goes on`);
    void this.#killAndRestart('recovery', `/healthz silent for ${WEDGE_MS / 1000} s`);
  }

  #checkMemory(at) {
    const d = this.daemon;
    const rss = d.alive ? d.rss() : null;
    if (this.busy || rss === null || rss < RSS_LIMIT) return;
    this.runaway.push({ at, ...this.#diagnose(20) });
    this.log(`daemon g${d.gen}: RSS ${mib(rss)} over ${mib(RSS_LIMIT)}; killing it so the run goes on`);
    void this.#killAndRestart('recovery', `RSS over ${mib(RSS_LIMIT)}`);
  }

  /** What the daemon is doing, and the drop that came last before it. */
  #diagnose(lines) {
    const d = this.drops.at(-1);
    const lastDrop = d && { at: d.at, conn: d.conn, gen: d.gen, how: d.how, trigger: d.trigger, sinceReady: d.sinceReady, outstanding: d.outstanding, reconnectAt: d.reconnectAt };
    return { ...this.daemon.diagnose(lines), lastDrop: lastDrop ?? null };
  }

  // --- the end -----------------------------------------------------------------------------

  /** Every id issued: no more chaos; unanswered ids get settleMs to be answered. */
  #settle() {
    if (this.settleFrom !== undefined) return;
    this.settleFrom = now();
    this.chaosOn = false;
    this.earlyArmed = false;
    this.log('all requests sent: chaos stops, settling');
  }

  #checkDone() {
    if (this.settleFrom !== undefined && this.ledger.outstanding.size === 0 && !this.busy) this.#end('every id answered');
  }

  #end(reason) {
    if (this.finishing) return;
    this.finishing = true;
    this.endReason = reason;
    this.log(`end: ${reason}`);
    this.finish(reason);
  }

  async stop() {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.dropTimer);
    while (this.busy) await sleep(20);
    this.rssEnd = this.daemon.alive ? this.daemon.rss() : null;
    this.stoppedGracefully = await this.daemon.stop(5000);
    await this.daemon.close();
    await this.cloud.close();
    this.rest.server.closeAllConnections();
    this.rest.server.close();
  }

  #progress() {
    const l = this.ledger;
    process.stderr.write(`\rissued ${l.issued}/${this.opts.requests}, outstanding ${l.outstanding.size}, drops ${this.drops.length}, kills ${this.kills.length}   `);
  }
}

function fileSize(path) {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Everything the run promises, counted; each check lists the ids (or events) that broke it. */
function evaluate(run) {
  const { ledger } = run;
  const executions = run.rest.executions;
  const runsOf = (id) => executions.get(id)?.length ?? 0;
  const records = [...ledger.records.values()];
  const wrongId = [];
  for (const rec of records) for (const a of rec.answers) if (a.named.some((n) => n !== rec.id)) wrongId.push({ id: rec.id, answer: a });
  const checks = [
    { key: 'executedTwice', label: 'ids executed more than once', items: [...executions.keys()].filter((id) => runsOf(id) > 1) },
    { key: 'neverAnswered', label: 'ids never answered', items: records.filter((r) => r.answers.length === 0).map((r) => r.id) },
    { key: 'okNotOnce', label: 'ids answered 2xx, not executed exactly once', items: records.filter((r) => r.answers.some(is2xx) && runsOf(r.id) !== 1).map((r) => r.id) },
    { key: 'conflict409', label: 'ids answered 409, executed more than once', items: records.filter((r) => r.answers.some((a) => a.status === 409) && runsOf(r.id) > 1).map((r) => r.id) },
    { key: 'wrongId', label: 'answers naming another id', items: wrongId },
    { key: 'stalls', label: `stalls (unanswered ${STALL_MS / 1000} s, link up)`, items: run.stalls },
    { key: 'noReconnect', label: `drops/restarts without a connection in ${RECONNECT_LIMIT_MS / 1000} s`, items: run.noReconnect },
    { key: 'unexpectedExits', label: 'daemon exits the soak did not cause', items: run.exits },
    { key: 'wedged', label: `daemon wedged (/healthz silent ${WEDGE_MS / 1000} s)`, items: run.wedges },
    { key: 'runawayMemory', label: `daemon RSS over ${mib(RSS_LIMIT)}`, items: run.runaway },
    { key: 'conflicting', label: 'ids with conflicting answers', items: records.filter((r) => conflicting(r.answers)).map((r) => r.id) },
    // The REST answers here are about a hundred bytes: no cloud refuses them, so none may be turned into a "too large" error.
    { key: 'falseTooLarge', label: 'small answers replaced by NBW_ERR_ANSWER_TOO_LARGE', items: records.filter((r) => r.answers.some((a) => a.code === 'NBW_ERR_ANSWER_TOO_LARGE')).map((r) => r.id) },
    { key: 'stray', label: 'answers or executions of ids never sent', items: [...ledger.stray.map((a) => a.id), ...[...executions.keys()].filter((id) => !ledger.records.has(id))] },
    { key: 'incomplete', label: 'requests never sent (deadline)', items: run.opts.requests > ledger.issued ? [`${run.opts.requests - ledger.issued} of ${run.opts.requests}`] : [] },
  ];
  return checks;
}

/** One 2xx and one other status, or answers naming different ids. */
function conflicting(answers) {
  if (answers.length < 2) return false;
  if (answers.some(is2xx) && !answers.every(is2xx)) return true;
  return new Set(answers.flatMap((a) => a.named)).size > 1;
}

function statistics(run) {
  const records = [...run.ledger.records.values()];
  const statuses = {};
  for (const rec of records) for (const a of rec.answers) statuses[statusLabel(a)] = (statuses[statusLabel(a)] ?? 0) + 1;
  const twice = records.filter((r) => r.answers.length > 1);
  const sameConn = twice.filter((r) => new Set(r.answers.map((a) => a.conn)).size < r.answers.length);
  const different = twice.filter((r) => new Set(r.answers.map((a) => `${a.status}\n${a.body}`)).size > 1);
  const reconnects = run.drops.filter((d) => d.reconnectAt !== null).map((d) => d.reconnectAt - d.at);
  const restarts = run.restarts.filter((r) => r.connectAt !== null && r.gen > 1).map((r) => r.connectAt - r.spawnedAt);
  const dropKinds = {};
  for (const d of run.drops) {
    const kind = d.how.replace(/\+\d+ ms linger/, '+linger');
    dropKinds[kind] = (dropKinds[kind] ?? 0) + 1;
  }
  return {
    requests: run.opts.requests,
    issued: run.ledger.issued,
    answeredIds: records.filter((r) => r.answers.length > 0).length,
    answers: records.reduce((n, r) => n + r.answers.length, 0),
    resends: run.ledger.resends,
    restCalls: [...run.rest.executions.values()].reduce((n, l) => n + l.length, 0),
    statuses,
    idsAnsweredTwice: twice.length,
    idsAnsweredTwiceOnOneConnection: sameConn.length,
    idsWithDifferentAnswers: different.length,
    connections: run.cloud.conns.length,
    drops: run.drops.length,
    dropsWithin40ms: run.drops.filter((d) => d.sinceReady < EARLY_DROP_MS).length,
    dropKinds,
    kills: run.kills.filter((k) => k.kind === 'chaos').length,
    startupKills: run.kills.filter((k) => k.kind === 'startup').length,
    startupKillHitCompaction: run.startupKill?.hit ?? null,
    recoveryKills: run.kills.filter((k) => k.kind === 'recovery').length,
    reconnectP50Ms: percentile(reconnects, 50),
    reconnectP99Ms: percentile(reconnects, 99),
    reconnectMaxMs: reconnects.length ? Math.max(...reconnects) : null,
    restartToConnectP50Ms: percentile(restarts, 50),
    restartToConnectMaxMs: restarts.length ? Math.max(...restarts) : null,
    framesBeforeHandshake: run.cloud.beforeHandshake,
    unparsableFrames: run.cloud.unparsable,
    rssEndBytes: run.rssEnd,
    stoppedGracefully: run.stoppedGracefully,
    endReason: run.endReason,
    wallSeconds: Number((now() / 1000).toFixed(1)),
    sameConnIds: sameConn.map((r) => r.id),
    differentIds: different.map((r) => r.id),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function printReport(run, checks, s, out) {
  const o = run.opts;
  const line = (label, value) => out(`${label.padEnd(24)}${value}`);
  const status = Object.entries(s.statuses).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
  const kinds = Object.entries(s.dropKinds).map(([k, v]) => `${k} ${v}`).join(', ');
  const sk = run.startupKill;
  out('');
  out(`chaos soak: seed ${o.seed}, ${o.requests} requests, window ${o.window}, a drop every ~${o.dropMs} ms, ${o.kills} kills (+1 during start-up)`);
  line('requests', `${s.issued} sent, ${s.answeredIds} answered, ${s.resends} resends, ${s.restCalls} REST calls`);
  line('answers by status', status || '-');
  line('answered twice', `${s.idsAnsweredTwice} ids (on one connection: ${s.idsAnsweredTwiceOnOneConnection}; with different answers: ${s.idsWithDifferentAnswers})`);
  line('drops', `${s.drops} (${s.dropsWithin40ms} within ${EARLY_DROP_MS} ms of a reconnect; ${kinds || '-'})`);
  line('kills', `${s.kills} planned + ${s.startupKills} during start-up${sk ? ` (journal rewrite ${sk.hit ? 'hit' : 'missed'}: ${sk.attempts.map((a) => `${a.afterMs.toFixed(0)} ms after spawn, ${a.trigger}, ${a.tmpLeftBytes === null ? 'no tmp left' : `${a.tmpLeftBytes} of ~${a.journalBytes} bytes rewritten`}`).join('; ')})` : ''} + ${s.recoveryKills} to recover`);
  line('connections', `${s.connections}; reconnect after a drop p50 ${fmtMs(s.reconnectP50Ms)} ms, p99 ${fmtMs(s.reconnectP99Ms)} ms, max ${fmtMs(s.reconnectMaxMs)} ms; restart to CONNECT p50 ${fmtMs(s.restartToConnectP50Ms)} ms, max ${fmtMs(s.restartToConnectMaxMs)} ms`);
  line('daemon RSS at the end', s.rssEndBytes === null ? '- (not running)' : mib(s.rssEndBytes));
  line('end', `${s.endReason}; daemon ${s.stoppedGracefully ? 'exited on SIGTERM' : 'did NOT exit within 5 s of SIGTERM (killed)'}`);
  line('wall time', `${s.wallSeconds} s`);
  if (s.framesBeforeHandshake || s.unparsableFrames) line('odd frames', `${s.framesBeforeHandshake} before the handshake, ${s.unparsableFrames} not JSON`);
  out('checks (each must be 0)');
  checks.forEach((c, i) => out(`  ${String(i < 8 ? i + 1 : '+').padStart(2)} ${c.label.padEnd(52)}${c.items.length}`));
  const failed = checks.filter((c) => c.items.length > 0);
  out(failed.length ? `FAIL: ${failed.map((c) => c.key).join(', ')}` : 'PASS');
  if (failed.length || s.idsAnsweredTwiceOnOneConnection || s.idsWithDifferentAnswers) printDetails(run, failed, s, out);
}

function printDetails(run, failed, s, out) {
  out('');
  out('details');
  for (const c of failed) {
    out(`- ${c.label}: ${c.items.length}`);
    for (const item of c.items.slice(0, DETAILS_PER_CHECK)) describeItem(run, c.key, item, out);
    if (c.items.length > DETAILS_PER_CHECK) out(`    … and ${c.items.length - DETAILS_PER_CHECK} more`);
  }
  if (s.idsAnsweredTwiceOnOneConnection) {
    out(`- ids answered twice on one connection (reported, not failed): ${s.idsAnsweredTwiceOnOneConnection}`);
    for (const id of s.sameConnIds.slice(0, DETAILS_PER_CHECK)) describeId(run, id, out);
  }
  if (s.idsWithDifferentAnswers) {
    out(`- ids with two different answers (reported; failed only when they conflict): ${s.idsWithDifferentAnswers}`);
    for (const id of s.differentIds.slice(0, DETAILS_PER_CHECK)) describeId(run, id, out);
  }
  out(`- daemon output, last lines (whole log: ${join(run.workDir, 'daemon.log')})`);
  for (const l of run.daemon.tail(30)) out(`    ${l}`);
}

function describeItem(run, key, item, out) {
  if (typeof item === 'string' && item.startsWith(ID_PREFIX)) return describeId(run, item, out);
  if (key === 'wrongId') {
    out(`    answer under ${item.id} on c${item.answer.conn} at ${fmtMs(item.answer.at)} ms names ${item.answer.named.join(', ')}: ${item.answer.body.slice(0, 200)}`);
    return describeId(run, item.id, out);
  }
  if (key === 'noReconnect') return describeNoReconnect(run, item, out);
  if (key === 'wedged') return describeDiagnosis(`    wedged at ${fmtMs(item.at)} ms`, item, out);
  if (key === 'runawayMemory') return describeDiagnosis(`    over the limit at ${fmtMs(item.at)} ms`, item, out);
  if (key === 'unexpectedExits') {
    out(`    g${item.gen} exited at ${fmtMs(item.at)} ms: code ${item.code}, signal ${item.signal}; its last lines:`);
    for (const l of item.tail) out(`      ${l}`);
    return;
  }
  out(`    ${typeof item === 'string' ? item : JSON.stringify(item)}`);
}

function describeNoReconnect(run, item, out) {
  if (item.kind === 'restart') {
    return describeDiagnosis(`    restart of g${item.gen} at ${fmtMs(item.spawnedAt)} ms: no connection within ${RECONNECT_LIMIT_MS / 1000} s`, item.diagnosis, out);
  }
  const c = run.cloud.conns[item.conn - 1];
  const streaming = answersBetween(run, item.conn, item.at - 50, item.at);
  out(`    drop of c${item.conn} (g${item.gen}) at ${fmtMs(item.at)} ms by ${item.how} (${item.trigger}, ${item.sinceReady.toFixed(1)} ms after its CONNECT was answered):`);
  out(`      ${item.outstanding} ids outstanding; c${item.conn} had ${c.sent} sent + ${c.resent} resent, ${item.answersOnConn} answers before the drop (${streaming} in its last 50 ms), ${c.answers - item.answersOnConn} after`);
  for (const e of run.events.filter((x) => x.at >= item.at - 300 && x.at <= item.at + 200).slice(-12)) out(`      ${fmtMs(e.at).padStart(9)} ms  ${e.what}`);
  describeDiagnosis(`      then no new connection within ${RECONNECT_LIMIT_MS / 1000} s`, { ...item.diagnosis, lastDrop: null }, out);
}

function answersBetween(run, conn, from, to) {
  let n = 0;
  for (const rec of run.ledger.records.values()) for (const a of rec.answers) if (a.conn === conn && a.at >= from && a.at <= to) n++;
  return n;
}

function describeDiagnosis(title, d, out) {
  out(`${title}; daemon g${d.gen} ${d.alive ? 'alive' : 'dead'}, CPU ${d.cpuPct ?? '?'} % lately, RSS ${d.rss === null ? '?' : mib(d.rss)}, /healthz ${d.healthzSilentMs === null ? 'never answered' : `silent for ${d.healthzSilentMs} ms`}`);
  const ld = d.lastDrop;
  if (ld) {
    const after = ld.reconnectAt === null ? 'no connection since' : `next connection ${fmtMs(ld.reconnectAt - ld.at)} ms later`;
    out(`      last drop: c${ld.conn} (g${ld.gen}) by ${ld.how} (${ld.trigger}) at ${fmtMs(ld.at)} ms, ${fmtMs(ld.sinceReady)} ms after its CONNECT was answered, ${ld.outstanding} ids outstanding; ${after}`);
  }
  out(`      g${d.gen}'s last lines:`);
  for (const l of d.tail) out(`        ${l}`);
}

/** The whole story of one id: sends, executions, answers, the connections involved and what happened around them. */
function describeId(run, id, out) {
  const rec = run.ledger.records.get(id);
  const runs = run.rest.executions.get(id) ?? [];
  if (!rec) {
    out(`    ${id}: never sent by the cloud; executed ${runs.length}x`);
    return;
  }
  const shown = rec.sends.length > 6 ? [...rec.sends.slice(0, 3), null, ...rec.sends.slice(-3)] : rec.sends;
  const sends = shown.map((x) => (x === null ? `… (${rec.sends.length} in all)` : `c${x.conn}@${fmtMs(x.at)}${x.resend ? 'r' : ''}`)).join(' ');
  const execs = runs.map((x) => `g${x.gen}@${fmtMs(x.at)}`).join(' ');
  const answers = rec.answers.map((a) => `c${a.conn}@${fmtMs(a.at)} ${statusLabel(a)}${a.named.length ? ` naming ${a.named.join(',')}` : ''}`).join('; ');
  out(`    ${id}: sent ${sends} | executed ${runs.length}x ${execs} | answers ${answers || 'none'}${rec.stall ? ` | stalled at ${fmtMs(rec.stall.at)} ms on c${rec.stall.conn}` : ''}`);
  const conns = new Set([...shown.filter(Boolean).map((x) => x.conn), ...rec.answers.map((a) => a.conn)]);
  for (const n of conns) {
    const c = run.cloud.conns[n - 1];
    out(`      c${n}: g${c.gen}, ready ${fmtMs(c.readyAt)} ms, ended ${fmtMs(c.endedAt)} ms (${c.endedBy ?? 'still open'}), ${c.sent} sent + ${c.resent} resent, ${c.answers} answers`);
  }
  const times = [...rec.sends.map((x) => x.at), ...rec.answers.map((a) => a.at), ...runs.map((x) => x.at)];
  const from = Math.min(...times) - 100;
  const to = Math.max(...times) + 100;
  const around = run.events.filter((e) => e.at >= from && e.at <= to);
  for (const e of around.slice(0, 12)) out(`      ${fmtMs(e.at).padStart(9)} ms  ${e.what}`);
  if (around.length > 12) out(`      … ${around.length - 12} more events until ${fmtMs(to)} ms`);
  if (rec.stall) describeDiagnosis('      the daemon when it stalled', rec.stall.daemon, out);
}

function summaryJson(run, checks, s) {
  const { sameConnIds, differentIds, ...stats } = s;
  return {
    seed: run.opts.seed,
    ...stats,
    startupKill: run.startupKill,
    wedges: run.wedges.length,
    checks: Object.fromEntries(checks.map((c) => [c.key, c.items.length])),
    examples: Object.fromEntries(checks.filter((c) => c.items.length).map((c) => [c.key, c.items.slice(0, 10).map((i) => (typeof i === 'string' ? i : (i.id ?? `g${i.gen}@${Math.round(i.at ?? i.spawnedAt)}`)))])),
    sameConnIds: sameConnIds.slice(0, 10),
    differentIds: differentIds.slice(0, 10),
    workDir: run.keptDir ?? null,
    pass: checks.every((c) => c.items.length === 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

/** Runs the chaos soak with these command-line arguments; resolves to the exit status. */
export async function runChaos(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(err.message);
    return 2;
  }
  const run = new ChaosRun(opts);
  await run.start();
  await run.done;
  if (process.stderr.isTTY) process.stderr.write('\n');
  await run.stop();
  const checks = evaluate(run);
  const stats = statistics(run);
  const pass = checks.every((c) => c.items.length === 0);
  if (pass && !opts.keep) rmSync(run.workDir, { recursive: true, force: true });
  else run.keptDir = run.workDir;
  printReport(run, checks, stats, (l) => console.log(l));
  if (run.keptDir) console.log(`work dir kept: ${run.keptDir} (state/, daemon.log)`);
  if (opts.json) console.log(JSON.stringify(summaryJson(run, checks, stats)));
  return pass ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runChaos(process.argv.slice(2)));
}
