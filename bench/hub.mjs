#!/usr/bin/env node
// The hub's own cost: requests per second, p50/p99 and CPU per request through one hub
// (dist/cloud, in this process) to 1, 16 and 1000 agents, and its resident set holding them.
// The agents are light ws clients in a process of their own that answer the CONNECT and each
// COMMAND REQUEST at once with a 1 KiB body, so what is measured is the hub, not an agent.
//   node bench/hub.mjs [--seconds 2]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { procRss } from './peers.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, agents: { type: 'string' }, url: { type: 'string' } } });

if (values.url) {
  // The agents' process: --url URL --agents N.
  const body = 'x'.repeat(1024);
  const n = Number(values.agents);
  let up = 0;
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(values.url, { perMessageDeflate: false });
    ws.on('open', () => ws.send(JSON.stringify({ version: '1.0', id: `C${i}`, type: 'CONNECT', subType: 'REQUEST', timeStamp: 0, payload: { token: `agent-${i}` } })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString('utf8'));
      if (msg.type === 'CONNECT') {
        if (++up === n) process.stdout.write('up\n');
        return;
      }
      ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'COMMAND', subType: 'RESPONSE', timeStamp: 0, payload: { headers: { 'content-type': 'application/json' }, responseCode: 200, body } }));
    });
    ws.on('error', (err) => {
      process.stderr.write(`agent ${i}: ${err.message}\n`);
      process.exit(1);
    });
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // not a SYN flood
  }
} else {
  const { Hub } = await import(fileURLToPath(new URL('../dist/cloud/index.js', import.meta.url)));
  const seconds = Number(values.seconds);
  const mib = (b) => (b / 1024 / 1024).toFixed(1);
  const rows = [];

  async function scenario(agents, windows) {
    const hub = await Hub.listen({ authenticate: (t) => ({ agentId: t }), maxUnauthenticated: 2000, maxInFlightPerAgent: 100_000 });
    const idle = procRss(process.pid).rss;
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--url', hub.url, '--agents', String(agents)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout, 'data');
    while (hub.agents().length < agents) await new Promise((r) => setTimeout(r, 20));
    globalThis.gc?.();
    const holding = procRss(process.pid).rss;
    for (const window of windows) {
      const ids = Array.from({ length: agents }, (_, i) => `agent-${i}`);
      const lat = [];
      let done = 0;
      let next = 0;
      const end = performance.now() + seconds * 1000;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const worker = async () => {
        while (performance.now() < end) {
          const s = performance.now();
          await hub.request(ids[next++ % agents], { method: 'GET', uri: '/netbackup/admin/jobs' });
          lat.push(performance.now() - s);
          done++;
        }
      };
      await Promise.all(Array.from({ length: window }, worker));
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      lat.sort((a, b) => a - b);
      const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2);
      rows.push({ agents, window, 'req/s': Math.round(done / elapsed), 'p50 ms': q(0.5), 'p99 ms': q(0.99), 'CPU µs/req': Math.round((cpu.user + cpu.system) / done), 'RSS idle MiB': mib(idle), 'RSS holding MiB': mib(holding), 'RSS after MiB': mib(procRss(process.pid).rss) });
    }
    child.kill();
    await hub.close();
  }

  await scenario(1, [1, 16]);
  await scenario(16, [16, 256]);
  await scenario(1000, [256]);
  console.log(`\nThe hub (dist/cloud) in this process, light agents in another; ${seconds} s per row. RSS is this process's: idle before the agents dial, holding them, after the load.`);
  console.table(rows);
}
