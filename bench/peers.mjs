// What both benchmarks stand on: the REST simulator in a process of its own, the cloud side
// (a ws server both bridges dial: /bench for this bridge, /plain for the plain one) that
// answers the CONNECT and sends COMMAND REQUESTs, and a process's resident set.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

/** Starts bench/rest-sim.mjs; resolves with its URL and the process. */
export async function startRestSim(root) {
  const sim = spawn(process.execPath, [join(root, 'bench', 'rest-sim.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [portLine] = await once(sim.stdout, 'data');
  return { url: `http://127.0.0.1:${String(portLine).trim()}`, sim };
}

/** The cloud side: `url` to dial (add /bench or /plain), `ready()` once both bridges are connected, `command(way, payload)` resolving with its answer (rejecting on an error status). */
export async function startCloud() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
  await once(wss, 'listening');
  const pending = new Map();
  /** The cloud end of each bridge's connection, by way. */
  const clouds = { bridged: null, plain: null };
  let seq = 0;
  const now = () => Math.floor(Date.now() / 1000);
  wss.on('connection', (ws, req) => {
    const way = req.url === '/plain' ? 'plain' : 'bridged';
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString('utf8'));
      if (msg.type === 'CONNECT') {
        ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'CONNECT', subType: 'RESPONSE', timeStamp: now(), payload: { valid: true } }));
        clouds[way] = ws;
        return;
      }
      pending.get(msg.id)?.(msg.payload.responseCode);
      pending.delete(msg.id);
    });
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    async ready() {
      while (clouds.bridged === null || clouds.plain === null) await new Promise((r) => setTimeout(r, 20));
    },
    command(way, payload) {
      return new Promise((resolve, reject) => {
        const id = `B-${++seq}`;
        pending.set(id, (code) => (code >= 400 ? reject(new Error(`${way}: ${code}`)) : resolve()));
        clouds[way].send(JSON.stringify({ version: '1.0', id, type: 'COMMAND', subType: 'REQUEST', timeStamp: now(), payload }));
      });
    },
    close: () => wss.close(),
  };
}

/** A process's resident set now and at its peak, in bytes. */
export function procRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
