// An agent written by hand, for the hub's tests: it dials the hub, sends its CONNECT with
// `token` (none with null) and waits for the answer, records every message the hub sends, and
// sends notifications and answers when told to.
import { once } from 'node:events';
import WebSocket from 'ws';
import { until } from './wait.js';

export interface RawAgent {
  ws: WebSocket;
  /** Every message the hub sent, parsed. */
  inbox: Record<string, unknown>[];
  /** Sends a NOTIFICATION REQUEST under `id` (one JOB record). */
  note(id: string): void;
  /** The ids of the NOTIFICATION RESPONSEs received, in order. */
  acked(): unknown[];
  /** Sends the COMMAND RESPONSE of `id`, with `status` and an empty JSON body. */
  answer(id: string, status?: number): void;
}

export async function rawAgent(url: string, token: string | null, cleanups: (() => unknown)[], opts: WebSocket.ClientOptions = {}): Promise<RawAgent> {
  const ws = new WebSocket(url, opts);
  const inbox: Record<string, unknown>[] = [];
  ws.on('message', (d) => inbox.push(JSON.parse(String(d)) as Record<string, unknown>));
  cleanups.push(() => ws.terminate());
  await once(ws, 'open');
  const send = (m: object) => ws.send(JSON.stringify({ version: '1.0', timeStamp: 1, ...m }));
  if (token !== null) {
    send({ id: 'C1', type: 'CONNECT', subType: 'REQUEST', payload: { token } });
    await until(() => inbox.some((m) => m.type === 'CONNECT'));
  }
  return {
    ws,
    inbox,
    note: (id) => send({ id, type: 'NOTIFICATION', subType: 'REQUEST', payload: [{ notificationType: 'UPDATE', object: 'JOB', data: [{ jobId: id }] }] }),
    acked: () => inbox.filter((m) => m.type === 'NOTIFICATION').map((m) => m.id),
    answer: (id, status = 200) => send({ id, type: 'COMMAND', subType: 'RESPONSE', payload: { headers: {}, responseCode: status, body: '{}' } }),
  };
}
