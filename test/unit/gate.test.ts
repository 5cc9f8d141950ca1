// The login gate without I/O: sessions are numbers handed out by a counter.
import { describe, expect, it } from 'vitest';
import { LoginGate } from '../../src/backends/auth/gate.js';
import { silentLogger } from '../../src/log/logger.js';

function gate(opts: { failLogin?: () => boolean; stale?: (s: string) => boolean; renew?: (s: string) => Promise<string>; noSessions?: boolean } = {}) {
  const events: string[] = [];
  let next = 0;
  let live = 0;
  const g = new LoginGate<string>(
    {
      login: async () => {
        await new Promise((r) => setTimeout(r, 5));
        if (opts.failLogin?.()) throw new Error('bad password');
        const s = `S${++next}`;
        events.push(`login ${s}`);
        return s;
      },
      logout: async (s) => {
        events.push(`logout ${s}`);
      },
      ...(opts.stale ? { stale: opts.stale } : {}),
      ...(opts.renew ? { renew: opts.renew } : {}),
    },
    { backend: 'b', log: silentLogger(), ...(opts.noSessions ? {} : { sessions: (n: number) => (live = n) }), minMs: 50, maxMs: 100 },
  );
  return { g, events, live: () => live };
}

describe('LoginGate', () => {
  it('logs in once for every caller waiting at the same time; they all count the session as made for them', async () => {
    const { g, events } = gate();
    const all = await Promise.all([g.get(), g.get(), g.get()]);
    expect(events).toEqual(['login S1']);
    expect(all.map((a) => [a.session.n, a.fresh])).toEqual([[1, true], [1, true], [1, true]]);
    expect((await g.get()).fresh).toBe(false);
  });

  it('replaces a stale session once for every 401 on it, logging it out before logging in again', async () => {
    const { g, events, live } = gate();
    await g.get();
    const s = (await g.get()).session;
    const retries = await Promise.all([g.unauthorized(s.n, false), g.unauthorized(s.n, false), g.unauthorized(s.n, false)]);
    expect(retries).toEqual([true, true, true]);
    expect(events).toEqual(['login S1', 'logout S1', 'login S2']);
    expect(live()).toBe(1);
    expect(g.current?.n).toBe(2);
  });

  it('answers a 401 on a session made for this very call as it is', async () => {
    const { g, events } = gate();
    const { session, fresh } = await g.get();
    expect(await g.unauthorized(session.n, fresh)).toBe(false);
    expect(events).toEqual(['login S1']);
  });

  it('retries without a new login when the session was already replaced by another call', async () => {
    const { g, events } = gate();
    await g.get();
    const old = (await g.get()).session;
    expect(await g.unauthorized(old.n, false)).toBe(true);
    expect(await g.unauthorized(old.n, false)).toBe(true);
    expect(events.filter((e) => e.startsWith('login'))).toHaveLength(2);
  });

  it('stops replacing sessions for 401s that a new session does not cure, until one works again', async () => {
    const { g, events } = gate();
    await g.get();
    let s = (await g.get()).session;
    expect(await g.unauthorized(s.n, false)).toBe(true);
    s = (await g.get()).session;
    // The retry on the new session got a 401 too: the path is refused, not the session.
    expect(await g.unauthorized(s.n, false)).toBe(false);
    for (let i = 0; i < 5; i++) expect(await g.unauthorized(s.n, false)).toBe(false);
    expect(events.filter((e) => e.startsWith('login'))).toHaveLength(2);
    g.accepted(s.n);
    expect(await g.unauthorized(s.n, false)).toBe(true);
    expect(events.filter((e) => e.startsWith('login'))).toHaveLength(3);
  });

  it('answers every caller at once with a failed login until the backoff has passed', async () => {
    let fail = true;
    const { g } = gate({ failLogin: () => fail });
    await expect(g.get()).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    fail = false;
    await expect(g.get()).rejects.toMatchObject({ code: 'NBW_ERR_BACKEND_LOGIN' });
    await new Promise((r) => setTimeout(r, 120));
    expect((await g.get()).session.value).toBe('S1');
  });

  it('logs the session out on close and reports none live', async () => {
    const { g, events, live } = gate();
    await g.get();
    await g.close();
    expect(events).toEqual(['login S1', 'logout S1']);
    expect(live()).toBe(0);
  });

  it('counts a call that waited for a renewal as fresh, and a renewed session as working', async () => {
    let stale = false;
    const { g, events } = gate({ stale: () => stale, renew: async (s) => `${s}+` });
    await g.get();
    stale = true;
    const r = await g.get();
    stale = false;
    expect(r).toMatchObject({ fresh: true, session: { value: 'S1+', n: 1 } });
    // A 401 on a renewed session replaces it: it is not a suspect replacement.
    expect(await g.unauthorized(1, false)).toBe(true);
    expect(events).toEqual(['login S1', 'logout S1+', 'login S2']);
  });

  it('does not retry a 401 that arrived while a renewal of the same session ran', async () => {
    let stale = false;
    let finish: (v: string) => void = () => {};
    const { g } = gate({ stale: () => stale, renew: (s) => new Promise((r) => (finish = () => r(`${s}+`))) });
    await g.get();
    stale = true;
    const renewing = g.get();
    await new Promise((r) => setTimeout(r, 5));
    const answer = g.unauthorized(1, false);
    stale = false;
    finish('');
    await renewing;
    expect(await answer).toBe(false);
  });

  it('does not retry a 401 that arrived while a replacement ran and failed', async () => {
    let fail = false;
    const { g } = gate({ failLogin: () => fail });
    await g.get();
    await g.get();
    fail = true;
    const [first, second] = await Promise.all([g.unauthorized(1, false), g.unauthorized(1, false)]);
    expect([first, second]).toEqual([false, false]);
  });

  it('retries a 401 once there is no session at all (it was closed)', async () => {
    const { g } = gate();
    await g.get();
    await g.close();
    expect(await g.unauthorized(1, false)).toBe(true);
    expect(() => g.accepted(1)).not.toThrow();
  });

  it('replaces a suspect session again once the backoff has passed', async () => {
    const { g, events } = gate();
    await g.get();
    expect(await g.unauthorized(1, false)).toBe(true);
    expect(await g.unauthorized(2, false)).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(await g.unauthorized(2, false)).toBe(true);
    expect(events.filter((e) => e.startsWith('login'))).toHaveLength(3);
  });

  it('takes a success on an older session as saying nothing about the current one', async () => {
    const { g } = gate();
    await g.get();
    expect(await g.unauthorized(1, false)).toBe(true);
    expect(await g.unauthorized(2, false)).toBe(false);
    g.accepted(1);
    expect(await g.unauthorized(2, false)).toBe(false);
    g.accepted(2);
    expect(await g.unauthorized(2, false)).toBe(true);
  });

  it('works without a sessions gauge', async () => {
    const { g } = gate({ noSessions: true });
    await g.get();
    await g.close();
  });

  it('takes a success right after a replacement as the new session working', async () => {
    const { g } = gate();
    await g.get();
    expect(await g.unauthorized(1, false)).toBe(true);
    g.accepted(2);
    expect(await g.unauthorized(2, false)).toBe(true);
  });
});
