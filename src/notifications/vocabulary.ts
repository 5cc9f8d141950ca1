// The two vocabularies: what the REST API says and what an NBWSS NOTIFICATION says. Every
// mapping lives here, in one table, with a test per entry.

/** REST schedule types → NBWSS schedule types. */
export const SCHEDULE_TYPES: Readonly<Record<string, string>> = {
  FULL_BACKUP: 'ST_FULL',
  DIFFERENTIAL_INCREMENTAL_BACKUP: 'ST_DINC',
  CUMULATIVE_INCREMENTAL_BACKUP: 'ST_CINC',
  USER_BACKUP: 'ST_UBACKUP',
  USER_ARCHIVE: 'ST_UARCHIVE',
};

/** Job states the bridge reports a change to (others pass through as they are). */
export const JOB_STATES = ['QUEUED', 'ACTIVE', 'REQUEUED', 'DONE', 'SUSPENDED', 'INCOMPLETE'] as const;

/** Reports each unknown value once, so a new NetBackup release does not flood the log. */
export class UnknownValues {
  readonly #seen = new Set<string>();
  readonly #report: (field: string, value: string) => void;

  constructor(report: (field: string, value: string) => void) {
    this.#report = report;
  }

  note(field: string, value: string): void {
    const key = `${field}=${value}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#report(field, value);
  }
}

/** A schedule type in NBWSS terms; an unknown one passes through unchanged (and is reported once). */
export function scheduleType(value: unknown, unknown: UnknownValues): unknown {
  if (typeof value !== 'string') return value;
  const mapped = SCHEDULE_TYPES[value];
  if (mapped !== undefined) return mapped;
  if (!value.startsWith('ST_')) unknown.note('scheduleType', value);
  return value;
}

/** An ISO 8601 time as epoch seconds; a number passes through; anything else is left out. */
export function epochSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
