// The root pino logger (JSON to stdout for journald), with every secret name any part declares
// redacted (see redact.ts). Every module gets a child: `log.child({ mod: 'link' })`.
import type { DestinationStream, Logger } from 'pino';
import { requirePino } from '../packages.js';
import { CENSOR, REDACT_PATHS } from './redact.js';

const pino = requirePino();

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** Creates the root logger. */
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

