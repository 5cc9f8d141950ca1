#!/usr/bin/env node
// The benchmark's baseline, never shipped: a bridge written plainly, without policy, dedupe,
// journal, queue bound, metrics or logs — ws, JSON.parse, one undici request, JSON.stringify.
// What the real bridge costs beyond this is the price of its guarantees.
//
//   PLAIN_CLOUD_URL=ws://… PLAIN_REST_URL=http://… PLAIN_CONNECTIONS=16 node bench/plain-bridge.mjs
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import WebSocket from 'ws';

const pool = new Pool(process.env.PLAIN_REST_URL, { connections: Number(process.env.PLAIN_CONNECTIONS ?? 16), pipelining: 1 });
const ws = new WebSocket(process.env.PLAIN_CLOUD_URL, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
const now = () => Math.floor(Date.now() / 1000);

ws.on('open', () => {
  ws.send(JSON.stringify({ version: '1.0', id: randomUUID(), type: 'CONNECT', subType: 'REQUEST', timeStamp: now(), payload: { token: 'plain-token' } }));
});

ws.on('message', async (data) => {
  const msg = JSON.parse(data.toString('utf8'));
  if (msg.type !== 'COMMAND' || msg.subType !== 'REQUEST') return;
  const { uri, method, headers = {}, parameters } = msg.payload;
  let payload;
  try {
    const lower = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
    const res = await pool.request({ path: uri, method, headers: lower, body: method === 'GET' || method === 'HEAD' ? undefined : parameters });
    const body = await res.body.text();
    const out = {};
    for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
    payload = { headers: out, responseCode: res.statusCode, body };
  } catch (err) {
    payload = { headers: {}, responseCode: 502, body: JSON.stringify({ errorCode: 502, errorMessage: String(err?.message ?? err) }) };
  }
  ws.send(JSON.stringify({ version: '1.0', id: msg.id, type: 'COMMAND', subType: 'RESPONSE', timeStamp: now(), payload }));
});

ws.on('close', () => process.exit(0));
process.on('SIGTERM', () => {
  ws.close(1001);
  setTimeout(() => process.exit(0), 200).unref();
});
