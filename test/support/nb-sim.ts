// Polls answered by an NbSim without sockets: the simulator's own handler, given a response of our own.
import type { RecordedRequest } from '../../src/demo/fake-rest.js';
import type { NbSim } from '../../src/demo/nb-sim.js';
import type { Get } from '../../src/notifications/jobs.js';

/** A page getter that asks `sim` as the poller would ask the REST API (API 14.0, an API key). */
export function simGet(sim: NbSim): Get {
  return async (path, query) => {
    const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    let status = 0;
    let body = '';
    const res = { writeHead: (s: number) => (status = s), end: (b: string) => (body = b) } as never;
    const req = { method: 'GET', url: `${path}?${qs}`, headers: { authorization: 'key', accept: 'application/vnd.netbackup+json;version=14.0' }, body: Buffer.alloc(0), text: '' } as RecordedRequest;
    sim.handle(req, res);
    if (status !== 200) throw new Error(`status ${status}: ${body}`);
    return JSON.parse(body) as unknown;
  };
}
