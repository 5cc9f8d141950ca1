// The root pino logger (JSON to stdout for journald) and its per-module children.
import { pino, type DestinationStream, type Logger } from 'pino';
import { CENSOR, REDACT_PATHS } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** Creates the root logger. Every module gets a child: `log.child({ mod: 'link' })`. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: 'nbwss-bridge',
      level: opts.level,
      base: { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything, for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
