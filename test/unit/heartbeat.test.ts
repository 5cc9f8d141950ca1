import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../src/link/heartbeat.js';

describe('Heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pings every interval while pongs come back', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target);
    hb.start();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(1000);
      hb.seen();
    }
    expect(target.ping).toHaveBeenCalledTimes(5);
    expect(target.dead).not.toHaveBeenCalled();
    hb.stop();
  });

  it('declares the peer dead when no pong arrived before the next ping, once', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target);
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(target.ping).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(target.dead).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5000);
    expect(target.dead).toHaveBeenCalledTimes(1);
    expect(target.ping).toHaveBeenCalledTimes(1);
  });

  it('allows maxMissed pings in a row without a pong, and declares the peer dead at the next one', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target, 2);
    hb.start();
    vi.advanceTimersByTime(3000);
    expect(target.ping).toHaveBeenCalledTimes(3);
    expect(target.dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(target.dead).toHaveBeenCalledTimes(1);
    expect(target.ping).toHaveBeenCalledTimes(3);
  });

  it('counts only misses in a row: a pong starts the count over', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target, 1);
    hb.start();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(2000);
      hb.seen();
    }
    expect(target.dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(3000);
    expect(target.dead).toHaveBeenCalledTimes(1);
  });

  it('starts the count over when restarted', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target, 1);
    hb.start();
    vi.advanceTimersByTime(2000);
    hb.start();
    vi.advanceTimersByTime(2000);
    expect(target.dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(target.dead).toHaveBeenCalledTimes(1);
  });

  it('does nothing once stopped', () => {
    const target = { ping: vi.fn(), dead: vi.fn() };
    const hb = new Heartbeat(1000, target);
    hb.start();
    hb.stop();
    vi.advanceTimersByTime(10_000);
    expect(target.ping).not.toHaveBeenCalled();
    expect(target.dead).not.toHaveBeenCalled();
  });

  it('keeps a peer whose pong is late but which reads what is queued toward it, and drops one that neither pongs nor reads', () => {
    let queued = 5_000_000;
    const target = { ping: vi.fn(), dead: vi.fn(), queued: () => queued };
    const hb = new Heartbeat(1000, target);
    hb.start();
    vi.advanceTimersByTime(1000);
    for (let i = 0; i < 4; i++) {
      queued -= 1_000_000;
      vi.advanceTimersByTime(1000);
    }
    expect(target.dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(target.dead).toHaveBeenCalledTimes(1);
  });
});
