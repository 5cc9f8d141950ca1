// The two vocabularies: what the REST API says and what an NBWSS NOTIFICATION says. Every
// mapping lives here, in one table per field, with a test per entry. Values come from the REST
// API and are looked up as own keys only (a state "constructor" is unknown, not a function).

/**
 * Schedule types → NBWSS schedule types. The jobs API names them `FULL_BACKUP`, …, the catalog
 * images API `FULL`, …; NBWSS has five.
 */
export const SCHEDULE_TYPES: Readonly<Record<string, string>> = {
  FULL_BACKUP: 'ST_FULL',
  FULL: 'ST_FULL',
  DIFFERENTIAL_INCREMENTAL_BACKUP: 'ST_DINC',
  DIFFERENTIAL_INCREMENTAL: 'ST_DINC',
  CUMULATIVE_INCREMENTAL_BACKUP: 'ST_CINC',
  CUMULATIVE_INCREMENTAL: 'ST_CINC',
  USER_BACKUP: 'ST_UBACKUP',
  USER_ARCHIVE: 'ST_UARCHIVE',
};

/**
 * The jobs API's states → the three an NBWSS JOB record has. A job waiting to run again
 * (REQUEUED) is QUEUED; one that ran and is paused (SUSPENDED) or failed but may still be
 * resumed (INCOMPLETE) is ACTIVE: it has started and is not DONE.
 */
export const JOB_STATES: Readonly<Record<string, JobState>> = {
  QUEUED: 'QUEUED',
  REQUEUED: 'QUEUED',
  ACTIVE: 'ACTIVE',
  SUSPENDED: 'ACTIVE',
  INCOMPLETE: 'ACTIVE',
  DONE: 'DONE',
};

export type JobState = 'QUEUED' | 'ACTIVE' | 'DONE';

/** How far along a job is: a JOB record is sent only when this grows. */
export const JOB_STATE_RANK: Readonly<Record<JobState, number>> = { QUEUED: 1, ACTIVE: 2, DONE: 3 };

/**
 * The catalog's display names of policy types → the upper-case names the jobs API uses for the
 * same types (and an NBWSS IMAGE record's `clientType`). Matched without regard to case.
 */
export const CLIENT_TYPES: Readonly<Record<string, string>> = {
  'standard': 'STANDARD',
  'proxy': 'PROXY',
  'oracle': 'OBACKUP',
  'informix-on-bar': 'INFORMIX',
  'sybase': 'SYBASE',
  'ms-sharepoint': 'SHAREPOINT',
  'datatools-sql-backtrack': 'BACKTRACK',
  'ms-windows': 'WINDOWS_NT',
  'ms-sql-server': 'SQL_SERVER',
  'ms-exchange-server': 'EXCHANGE',
  'sap': 'SAP',
  'db2': 'DB2',
  'ndmp': 'NDMP',
  'flashbackup': 'FLASHBACKUP',
  'split-mirror': 'SPLITMIRROR',
  'afs': 'AFS',
  'lotus-notes': 'LOTUS_NOTES',
  'teradata': 'NCR_TERADATA',
  'flashbackup-windows': 'FBU_WINDOWS',
  'vault': 'VAULT',
  'nbu-catalog': 'NBU_CATALOG',
  'generic': 'GENERIC',
  'puredisk-export': 'PUREDISK_EXPORT',
  'enterprise-vault': 'ENTERPRISE_VAULT',
  'vmware': 'VMWARE',
  'hyper-v': 'HYPERV',
  'bigdata': 'BIGDATA',
  'hypervisor': 'HYPERVISOR',
  'deployment': 'DEPLOYMENT',
  'cloud': 'CLOUD',
  'nutanix-ahv': 'NUTANIX_AHV',
  'universal-share': 'UNIVERSAL_SHARE',
  'nas-data-protection': 'NAS_DATA_PROTECTION',
  'kubernetes': 'KUBERNETES',
  'kvm': 'KVM',
};

/** A table's entry for a REST value; undefined for anything that is not an own key. */
export const lookup = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/** Distinct unknown values remembered (and reported); past it, nothing more is reported. */
export const MAX_UNKNOWN = 256;
/** Longest unknown value reported, in characters. */
const MAX_VALUE_CHARS = 80;

/** Reports each unknown value once, so a new NetBackup release does not flood the log. */
export class UnknownValues {
  readonly #seen = new Set<string>();
  readonly #report: (field: string, value: string) => void;

  constructor(report: (field: string, value: string) => void) {
    this.#report = report;
  }

  note(field: string, value: string): void {
    const shown = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
    const key = `${field}=${shown}`;
    if (this.#seen.has(key) || this.#seen.size >= MAX_UNKNOWN) return;
    this.#seen.add(key);
    this.#report(field, shown);
  }
}

/** A schedule type in NBWSS terms; an unknown one passes through unchanged (and is reported once). */
export function scheduleType(value: unknown, unknown: UnknownValues): string {
  if (typeof value !== 'string') return '';
  const mapped = lookup(SCHEDULE_TYPES, value);
  if (mapped !== undefined) return mapped;
  if (!value.startsWith('ST_')) unknown.note('scheduleType', value);
  return value;
}

/**
 * A catalog policy type as an NBWSS `clientType`: a known display name by the table, a name
 * already upper case as it is, anything else upper-cased with `_` for other characters (and
 * reported once).
 */
export function clientType(value: unknown, unknown: UnknownValues): string {
  if (typeof value !== 'string' || value === '') return '';
  const known = lookup(CLIENT_TYPES, value.toLowerCase());
  if (known !== undefined) return known;
  if (/^[A-Z0-9_]+$/.test(value)) return value;
  unknown.note('policyType', value);
  return value.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** An ISO 8601 time as epoch seconds; a number passes through; anything else is left out. */
export function epochSeconds(value: unknown): number | undefined {
  if (Number.isFinite(value)) return Math.floor(value as number);
  // Stryker disable next-line ConditionalExpression: Date.parse reads no JSON value but a string as a date
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** A string field as NBWSS sends it: always there; empty when the REST API left it out or gave no scalar. */
export const text = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';

/** A whole-number field: always there; 0 when the REST API left it out or gave no safe whole number. */
export function whole(value: unknown): number {
  const n = typeof value === 'number' ? Math.trunc(value) : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) ? n : 0;
}
