// A log destination that keeps every line, for assertions on what the bridge logs.
import { createLogger, type Logger } from '../../src/lifecycle/logger.js';

export interface CapturedLog {
  log: Logger;
  /** Every line written so far, as text. */
  text(): string;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

/**
 * The keys a JSON object line names more than once at its top level (strict JSON parsers
 * refuse such a line; JSON.parse silently keeps the last).
 */
export function duplicateKeys(line: string): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const atKey = depth === 1 && /^\s*:/.test(line.slice(j + 1, j + 3));
      if (atKey) {
        const key = JSON.parse(line.slice(i, j + 1)) as string;
        if (seen.has(key)) dup.push(key);
        seen.add(key);
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return dup;
}

export function captureLog(level = 'debug'): CapturedLog {
  const chunks: string[] = [];
  const write = (s: string) => {
    for (const line of s.split('\n')) {
      const dup = line ? duplicateKeys(line) : [];
      if (dup.length) throw new Error(`log line repeats ${dup.join(', ')}: ${line.slice(0, 300)}`);
    }
    chunks.push(s);
  };
  const log = createLogger({ level, destination: { write } });
  return {
    log,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
