#!/usr/bin/env node
// The benchmark's REST API, in a process of its own: NetBackup-like job lists of a requested
// size at GET /netbackup/admin/jobs?size=BYTES, and a small created-resource answer to POSTs.
// Prints its port on stdout once listening.
import { createServer } from 'node:http';

const TYPE = 'application/vnd.netbackup+json;version=1.0';

/** A job list like GET /netbackup/admin/jobs returns, of about `bytes` bytes. */
function jobList(bytes) {
  const data = [];
  let size = 60;
  for (let i = 0; size < bytes; i++) {
    const jobId = 100000 + i;
    const job = {
      type: 'job',
      id: String(jobId),
      attributes: {
        jobId, jobType: 'BACKUP', policyName: 'vm-daily', scheduleType: i % 2 ? 'DIFFERENTIAL_INCREMENTAL_BACKUP' : 'FULL_BACKUP',
        clientName: `vm${String(i % 1000).padStart(3, '0')}.corp.example.com`, state: 'DONE', status: 0,
        startTime: '2026-11-20T01:00:00Z', kilobytesTransferred: 1048576 + i,
      },
    };
    data.push(job);
    size += JSON.stringify(job).length + 1;
  }
  return JSON.stringify({ data, meta: { pagination: { offset: 0, limit: data.length, count: data.length } } });
}

const bodies = new Map();
const bodyOf = (bytes) => {
  let b = bodies.get(bytes);
  if (!b) bodies.set(bytes, (b = Buffer.from(jobList(bytes))));
  return b;
};
const created = Buffer.from(JSON.stringify({ data: { type: 'policy', id: 'bench-policy', attributes: { policyName: 'bench-policy', created: true } } }));

const server = createServer((req, res) => {
  if (req.method === 'POST') {
    let n = 0;
    req.on('data', (c) => (n += c.length));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': TYPE, 'content-length': created.length, 'x-received-bytes': String(n) });
      res.end(created);
    });
    return;
  }
  const q = req.url.indexOf('size=');
  const body = bodyOf(q === -1 ? 1024 : Number(req.url.slice(q + 5)) || 1024);
  res.writeHead(200, { 'content-type': TYPE, 'content-length': body.length, 'cache-control': 'private' });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
