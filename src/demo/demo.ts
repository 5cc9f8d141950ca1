// `nbwss-bridge demo` (npm start): the product's own hub as the cloud application and a
// simulated NetBackup REST API on loopback, the real daemon between them, every fixture
// replayed through it.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { BridgeAnswerError, Hub, type HubRequest, type Notification } from '../cloud/index.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lifecycle/logger.js';
import { Daemon } from '../lifecycle/daemon.js';
import { DEMO_JWT } from './fake-cloud.js';
import { NB_MEDIA_TYPE, netbackupHandler, RestServer, seededSim } from './fake-rest.js';
import { startProducts, type ProductExchange } from './products-demo.js';
import type { NbSim } from './nb-sim.js';

export interface DemoOptions {
  keepRunning: boolean;
  out(line: string): void;
  /** Config values from CLI flags (e.g. log.level), by key. */
  overrides?: Record<string, string>;
  /** Where the fixtures are; the package's fixtures/ by default. */
  fixturesDir?: string;
}

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** In the single executable (npm run dist): the SEA asset holding fixtures/*.json as { file name: text }. */
export const SEA_FIXTURES_ASSET = 'fixtures.json';

/** The package's fixtures/; in the single executable, which has none beside it, its embedded copy written into `work`. */
async function fixturesDir(work: string): Promise<string> {
  if (!isSea()) return FIXTURES_DIR;
  const dir = join(work, 'fixtures');
  await mkdir(dir);
  const files = JSON.parse(getAsset(SEA_FIXTURES_ASSET, 'utf8')) as Record<string, string>;
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, basename(name)), text);
  return dir;
}

interface Exchange {
  file: string;
  method: string;
  uri: string;
  status: number;
  ms: number;
  /** The bridge's own errorMessage, when the bridge answered. */
  bridgeSaid?: string;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

/** The demo's cloud: a hub, and the one agent it expects. */
interface Cloud {
  hub: Hub;
  agentId: string;
  notifications: Notification[];
}

/** A request through the hub: its status, and what the bridge said when it answered itself. */
async function send(cloud: Cloud, req: HubRequest): Promise<{ status: number; body: string; bridgeSaid?: string }> {
  try {
    const r = await cloud.hub.request(cloud.agentId, { timeoutMs: 30_000, ...req });
    return { status: r.status, body: String(r.body) };
  } catch (err) {
    if (!(err instanceof BridgeAnswerError)) throw err;
    return { status: err.status, body: err.body, bridgeSaid: err.detail };
  }
}

async function replayFixture(cloud: Cloud, dir: string, file: string): Promise<Exchange | string> {
  const env = JSON.parse(await readFile(`${dir}/${file}`, 'utf8')) as { id?: string; type?: string; subType?: string; payload?: { method?: unknown; uri?: unknown; headers?: Record<string, string>; parameters?: unknown } };
  if (env.type !== 'COMMAND' || env.subType !== 'REQUEST' || typeof env.id !== 'string') return `${file}: not a COMMAND REQUEST, skipped`;
  const p = env.payload ?? {};
  const started = performance.now();
  const r = await send(cloud, { id: env.id, method: String(p.method), uri: String(p.uri), headers: p.headers ?? {}, ...(p.parameters === undefined ? {} : { body: p.parameters }) });
  return { file, method: String(p.method ?? '?'), uri: String(p.uri ?? '?'), status: r.status, ms: Math.round(performance.now() - started), ...(r.bridgeSaid ? { bridgeSaid: r.bridgeSaid } : {}) };
}

/** A new job goes QUEUED → ACTIVE → DONE in the simulator; the bridge reports each state, the hub acknowledges each once handled. */
async function showNotifications(cloud: Cloud, sim: NbSim, out: (line: string) => void): Promise<void> {
  out('');
  out('  The bridge also polls the jobs API and pushes NOTIFICATIONs; a new job runs to completion:');
  out('');
  const before = cloud.notifications.length;
  const job = sim.addJob({ clientName: 'vm-demo.domain.com', policyName: 'demo-policy', scheduleType: 'DIFFERENTIAL_INCREMENTAL_BACKUP' });
  const steps: [string, number][] = [['ACTIVE', 400], ['DONE', 400]];
  const seen = (state: string) => cloud.notifications.slice(before).some((m) => m.notifications.some((n) => n.data.some((d) => d.jobId === job.jobId && d.state === state)));
  const wait = async (state: string) => {
    const deadline = Date.now() + 5000;
    while (!seen(state) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
  await wait('QUEUED');
  for (const [state, delay] of steps) {
    await new Promise((r) => setTimeout(r, delay));
    sim.setJobState(job.jobId, state, 0);
    await wait(state);
  }
  for (const m of cloud.notifications.slice(before)) {
    for (const n of m.notifications) {
      for (const d of n.data) {
        if (d.jobId !== job.jobId) continue;
        const extra = d.state === 'DONE' ? ` status ${String(d.status)}` : '';
        out(`  NOTIFICATION ${n.object} ${String(d.jobId)} ${pad(String(d.state), 6)} ${String(d.scheduleType)} ${String(d.clientName)}${extra}   id ${m.id.slice(0, 8)}…, acknowledged`);
      }
    }
  }
}

/** One exchange with each other product: the cloud sends no credentials, the bridge signs each call itself. */
async function showProducts(cloud: Cloud, exchanges: ProductExchange[], out: (line: string) => void): Promise<void> {
  out('');
  out('  The same bridge fronts other backup products under their mounts, holding their credentials itself:');
  out('');
  for (const x of exchanges) {
    const started = performance.now();
    const r = await send(cloud, { method: x.method, uri: x.uri, headers: { Accept: 'application/json' }, ...(x.parameters ? { body: x.parameters } : {}) });
    const ms = Math.round(performance.now() - started);
    out(`  ${pad(x.product, 10)} ${pad(x.method, 5)} ${pad(x.uri, 46)} → ${String(r.status)}  ${pad(`${ms} ms`, 7)} ${x.note}`);
  }
}

/** Runs the demo; resolves to the exit code. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out } = opts;
  // Notifications need a state dir and an API key: the demo keeps both in a temporary directory.
  const work = await mkdtemp(join(tmpdir(), 'nbwss-demo-'));
  const dir = opts.fixturesDir ?? (await fixturesDir(work));
  await writeFile(join(work, 'apikey'), 'demo-api-key\n', { mode: 0o600 });
  const sim = seededSim();
  const products = await startProducts(work);
  const rest = await new RestServer(netbackupHandler(sim)).start();
  const token = `demo-${randomUUID()}`;
  const hub = await Hub.listen({ path: '/nbwss', authenticate: (t) => (t === token ? { agentId: 'demo-primary', labels: { product: 'netbackup' } } : null) });
  const cloud: Cloud = { hub, agentId: 'demo-primary', notifications: [] };
  hub.on('notification', (n: Notification) => void cloud.notifications.push(n));
  const configFile = join(work, 'config.json');
  await writeFile(configFile, JSON.stringify({ backends: products.backends(rest.url) }), { mode: 0o600 });
  const { config } = loadConfig({
    env: {},
    configFile,
    overrides: {
      'cloud.url': hub.url,
      'cloud.token': token,
      'rest.baseUrl': rest.url,
      'reconnect.minMs': '200',
      'reconnect.maxMs': '2000',
      'log.level': 'error',
      'state.dir': join(work, 'state'),
      'notifications.jobs': 'true',
      'notifications.apiKeyFile': join(work, 'apikey'),
      'notifications.pollMs': '150',
      ...opts.overrides,
    },
    purpose: 'run',
  });
  const daemon = await Daemon.open(config, createLogger({ level: config.log.level, destination: process.stderr }));
  const shutdown = async () => {
    await daemon.stop('demo finished');
    await hub.close();
    await rest.stop();
    await products.stop();
    await rm(work, { recursive: true, force: true });
  };

  out('nbwss-bridge demo: the hub (nbwss-bridge/cloud) as the cloud application and a simulated NetBackup REST API on loopback, the real bridge between them.');
  out(`  cloud endpoint  ${hub.url}   (the bridge dials out to it)`);
  out(`  REST API        ${rest.url}   (NetBackup, simulated; the bridge replays COMMANDs against it)`);
  const online = new Promise<void>((resolve) => hub.once('agent-online', () => resolve()));
  await daemon.start();
  await online;
  out('  CONNECT answered valid:true (agent demo-primary online); replaying fixtures/ through the hub and the bridge:');
  out('');

  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const byStatus = new Map<number, number>();
  for (const file of files) {
    const x = await replayFixture(cloud, dir, file);
    if (typeof x === 'string') {
      out(`  ${x}`);
      continue;
    }
    byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
    out(`  ${pad(x.method, 6)} ${pad(x.uri.length > 70 ? `${x.uri.slice(0, 67)}...` : x.uri, 70)} → ${x.status}  ${pad(`${x.ms} ms`, 7)} ${x.file}`);
    if (x.bridgeSaid) out(`         answered by the bridge: ${x.bridgeSaid}`);
  }
  const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
  const summary = [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(', ');
  out('');
  out(`  ${total} requests, each answered once under its own id: ${summary}.`);
  out('  2xx came from the REST API; 4xx/5xx with an x-nbwss-bridge-error header were answered by the bridge itself.');
  await showNotifications(cloud, sim, out);
  await showProducts(cloud, products.exchanges, out);

  if (!opts.keepRunning) {
    await shutdown();
    return 0;
  }
  out('');
  out('Still running. Type a command to send it through the bridge, e.g.');
  out('  GET /netbackup/admin/jobs?page%5Blimit%5D=2');
  out('  POST /netbackup/config/servers/vmservers {"serverName":"vc9.domain.com"}');
  out('Ctrl-D or Ctrl-C ends the demo.');
  const rl = createInterface({ input: process.stdin });
  const stop = new Promise<void>((resolve) => {
    rl.on('close', resolve);
    process.once('SIGINT', () => rl.close());
    process.once('SIGTERM', () => rl.close());
  });
  const typed: Promise<void>[] = [];
  rl.on('line', (line) => {
    const m = /^\s*([A-Za-z]+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) return;
    const [, method = '', uri = '', body = ''] = m;
    typed.push(
      send(cloud, { method: method.toUpperCase(), uri, headers: { 'Content-Type': NB_MEDIA_TYPE, Authorization: DEMO_JWT }, ...(body ? { body } : {}) }).then(
        (r) => out(`→ ${r.status} ${(r.bridgeSaid ?? r.body).slice(0, 2000)}`),
        (err: Error) => out(`→ ${err.message}`),
      ),
    );
  });
  await stop;
  await Promise.all(typed);
  await shutdown();
  return 0;
}
