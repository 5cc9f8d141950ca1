// Reading what the operator gives `service`: a secret typed at the terminal (not echoed) or
// piped in, and a yes/no answer (only where there is a terminal to ask on).
import { createInterface } from 'node:readline';
import { InstallError } from '../service/errors.js';

/** What of a process's standard input reading needs (a real one, or a test's). */
export interface Input extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(on: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: 'data' | 'end', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'data' | 'end', listener: (chunk: Buffer | string) => void): unknown;
  /** Puts back what was typed after the secret's line (a paste of the next answer). */
  unshift?(chunk: Buffer): unknown;
}

/** How long a pipe may stay open without delivering the token. */
const PIPE_WAIT_MS = 60_000;

const decoder = () => new TextDecoder('utf-8', { fatal: true });

/**
 * A secret: the line typed at a terminal (raw mode, so not echoed; Backspace and Ctrl-U edit,
 * Enter or Ctrl-D ends, Ctrl-C stops), or all that is piped in, trimmed. Bytes that are not
 * UTF-8 are refused, not replaced. Standard input stays usable for a question after it.
 */
export async function readSecret(input: Input, prompt: (s: string) => void, question: string): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InstallError(`standard input stayed open ${PIPE_WAIT_MS / 1000} s without ending: pipe the token in (< token-file), or close it (< /dev/null)`)), PIPE_WAIT_MS);
      timer.unref();
    });
    try {
      await Promise.race([(async () => {
        for await (const c of input) chunks.push(Buffer.from(c));
      })(), late]);
    } finally {
      clearTimeout(timer);
    }
    return decode(Buffer.concat(chunks)).trim();
  }
  prompt(question);
  input.setRawMode?.(true);
  const typed = await new Promise<string>((resolve, reject) => {
    let text = '';
    let escape = false;
    const stream = new TextDecoder('utf-8', { fatal: true });
    const done = (err: Error | null) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      prompt('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      let s: string;
      try {
        s = typeof chunk === 'string' ? chunk : stream.decode(chunk, { stream: true });
      } catch {
        return done(new InstallError('the token typed is not UTF-8'));
      }
      for (const ch of s) {
        // An escape sequence (an arrow key: ESC [ A) is skipped up to its final letter or ~.
        if (escape) {
          escape = ch === '[' || ch === 'O' || !/[A-Za-z~]/.test(ch);
          continue;
        }
        if (ch === '\u0003') return done(new InstallError('interrupted'));
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          const rest = s.slice(s.indexOf(ch) + 1).replace(/^\n/, '');
          if (rest) input.unshift?.(Buffer.from(rest));
          return done(null);
        }
        if (ch === '\u001b') escape = true;
        else if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch === '\u0015') text = '';
        else if (ch >= ' ') text += ch;
      }
    };
    const onEnd = () => done(text === '' ? new InstallError('standard input ended before the token') : null);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
  return typed.trim();
}

function decode(bytes: Buffer): string {
  try {
    return decoder().decode(bytes);
  } catch {
    throw new InstallError('the token on standard input is not UTF-8');
  }
}

/**
 * Asks a question at the terminal; null when there is none (piped input cannot confirm
 * anything) or when it ends unanswered (Ctrl-D). Ctrl-C stops with an error.
 */
export function ask(input: Input & NodeJS.ReadableStream, output: NodeJS.WritableStream, question: string): Promise<string | null> {
  if (!input.isTTY) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, output, terminal: true });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      rl.close();
    };
    rl.on('SIGINT', () => settle(() => reject(new InstallError('interrupted'))));
    rl.on('close', () => settle(() => resolve(null)));
    rl.question(question, (answer) => settle(() => resolve(answer)));
  });
}
