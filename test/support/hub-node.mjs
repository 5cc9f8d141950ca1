// One hub node in a process of its own (built code), for tests that kill a node: it joins
// the others through the Redis at HUB_REDIS, takes the tokens in HUB_TOKENS ({token: agentId}),
// and prints {"url": ..., "node": ...} once it is ready.
import { Hub } from '../../dist/cloud/index.js';

const tokens = JSON.parse(process.env.HUB_TOKENS ?? '{}');
const hub = await Hub.listen({
  path: '/nbwss',
  redis: { url: process.env.HUB_REDIS, prefix: process.env.HUB_PREFIX ?? 'nbwss:' },
  heartbeatMs: Number(process.env.HUB_HEARTBEAT_MS ?? 1000),
  authenticate: (token) => (tokens[token] ? { agentId: tokens[token] } : null),
});
process.stdout.write(`${JSON.stringify({ url: hub.url, node: hub.node })}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
