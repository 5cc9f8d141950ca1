// Agent tokens: scrypt at a low cost for new ones (the secret is 256 random bits), the cost kept
// with each so older ones still verify, and a bound on the checks in flight, so that a flood
// of CONNECTs with wrong secrets cannot queue without end.
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../src/cloud/index.js';
import { issue, verifyToken } from '../../src/cloud/tokens.js';

describe('agent tokens', () => {
  it('records the cost of each token and still verifies one hashed at scrypt\'s default cost', async () => {
    const store = new MemoryTokenStore();
    const { token } = await issue(store, 'ws://127.0.0.1:1/', { agentId: 'a' });
    expect((await store.get('a'))?.n).toBe(1024);
    expect(await verifyToken(store, token)).toBe('a');
    const secret = Buffer.alloc(32, 7);
    const salt = Buffer.alloc(16, 1);
    await store.set('old', { hash: scryptSync(secret, salt, 32).toString('hex'), salt: salt.toString('hex'), issuedAt: '2026-01-01T00:00:00Z', group: 'default', priority: 0 });
    expect(await verifyToken(store, `${Buffer.from('old').toString('base64url')}.${secret.toString('base64url')}`)).toBe('old');
  });

  it('runs two checks at once and lets 256 wait; a check past those is refused at once', async () => {
    const store = new MemoryTokenStore();
    const { token } = await issue(store, 'ws://127.0.0.1:1/', { agentId: 'a' });
    const results = await Promise.all(Array.from({ length: 300 }, () => verifyToken(store, token)));
    expect(results.filter((r) => r === 'a')).toHaveLength(258);
    expect(results.filter((r) => r === null)).toHaveLength(42);
    expect(await verifyToken(store, token)).toBe('a'); // the bound frees up as checks finish
  });
});
