// A log destination that keeps every line, for assertions on what the bridge logs.
import { createLogger, type Logger } from '../../src/lifecycle/logger.js';

export interface CapturedLog {
  log: Logger;
  /** Every line written so far, as text. */
  text(): string;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

export function captureLog(level = 'debug'): CapturedLog {
  const chunks: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void chunks.push(s) } });
  return {
    log,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
