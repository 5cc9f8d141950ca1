// The logger every module takes (a child of the root one the lifecycle creates, see
// lifecycle/logger.ts), and one that drops everything.
import type { Logger } from 'pino';
import { requirePino } from '../packages.js';

const pino = requirePino();

export type { Logger };

/** A logger that drops everything, for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
