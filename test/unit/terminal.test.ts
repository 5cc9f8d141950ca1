// What service reads from the operator: a secret typed at a terminal or piped in.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ask, readSecret, type Input } from '../../src/cli/terminal.js';

/** Standard input as a terminal delivers it: chunks as typed, once the reader listens; raw mode switched by the reader. */
function terminal(chunks: (string | Buffer)[]): Input & { raw: boolean[]; listening: () => number } {
  const raw: boolean[] = [];
  const listeners = { data: new Set<(c: Buffer | string) => void>(), end: new Set<(c: Buffer | string) => void>() };
  return {
    isTTY: true,
    raw,
    listening: () => listeners.data.size + listeners.end.size,
    setRawMode: (on: boolean) => raw.push(on),
    resume: () => {
      queueMicrotask(() => {
        for (const c of chunks) for (const l of [...listeners.data]) l(typeof c === 'string' ? Buffer.from(c) : c);
      });
    },
    pause: () => {},
    on: (e: 'data' | 'end', l: (c: Buffer | string) => void) => listeners[e].add(l),
    off: (e: 'data' | 'end', l: (c: Buffer | string) => void) => listeners[e].delete(l),
    async *[Symbol.asyncIterator]() {},
  };
}

describe('readSecret', () => {
  it('reads a typed line in raw mode (not echoed), up to Enter, and leaves raw mode', async () => {
    const shown: string[] = [];
    const input = terminal(['tok', 'en-1', '23\r', 'ignored']);
    expect(await readSecret(input, (s) => shown.push(s), 'Token: ')).toBe('token-123');
    expect(input.raw).toEqual([true, false]);
    expect(shown).toEqual(['Token: ', '\n']);
  });

  it('edits as a terminal line does: Backspace, Ctrl-U; skips arrow keys; ends at Ctrl-D; and stops listening', async () => {
    const input = terminal(['wrong', '\u0015', 'secx', '\u007f', 'ret', '\u001b[D', '-tok\u0004', 'after']);
    expect(await readSecret(input, () => {}, 'Token: ')).toBe('secret-tok');
    expect(input.listening()).toBe(0);
  });

  it('refuses bytes that are not UTF-8, typed or piped', async () => {
    await expect(readSecret(terminal([Buffer.from([0x74, 0xff, 0x0d])]), () => {}, 'Token: ')).rejects.toThrow('not UTF-8');
    const piped = new PassThrough();
    piped.end(Buffer.from([0xc3, 0x28]));
    await expect(readSecret(piped as unknown as Input, () => {}, '')).rejects.toThrow('not UTF-8');
  });

  it('puts back what was typed after the line (a pasted answer to the next question)', async () => {
    const back: string[] = [];
    const input = Object.assign(terminal(['the-token\ry\r']), { unshift: (b: Buffer) => void back.push(b.toString()) });
    expect(await readSecret(input, () => {}, 'Token: ')).toBe('the-token');
    expect(back).toEqual(['y\r']);
  });

  it('stops on Ctrl-C, leaving raw mode all the same', async () => {
    const input = terminal(['abc\u0003']);
    await expect(readSecret(input, () => {}, 'Token: ')).rejects.toThrow('interrupted');
    expect(input.raw).toEqual([true, false]);
  });

  it('reads everything piped in, trimmed, without a prompt', async () => {
    const piped = new PassThrough();
    piped.end(' piped-token \n');
    const shown: string[] = [];
    expect(await readSecret(piped as unknown as Input, (s) => shown.push(s), 'Token: ')).toBe('piped-token');
    expect(shown).toEqual([]);
  });
});

describe('ask', () => {
  it('stops on Ctrl-C, and has no answer when the terminal ends (Ctrl-D)', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const asked = ask(input as never, new PassThrough(), 'Trust it? ');
    input.write('\u0003');
    await expect(asked).rejects.toThrow('interrupted');
    const ended = Object.assign(new PassThrough(), { isTTY: true });
    const unanswered = ask(ended as never, new PassThrough(), 'Trust it? ');
    ended.end();
    expect(await unanswered).toBeNull();
  });

  it('has no answer without a terminal', async () => {
    expect(await ask(new PassThrough() as never, new PassThrough(), 'Sure? ')).toBeNull();
  });

  it('asks at a terminal and gives the line answered', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    const answer = ask(input as never, output, 'Trust it? ');
    input.write('yes\n');
    expect(await answer).toBe('yes');
    expect(output.read()?.toString()).toContain('Trust it? ');
  });
});
