// Polling jobs: everything updated since the cursor, cursor-paged to the end. As NetBackup
// does, a job is reported when it is first seen, when it becomes ACTIVE and when it is DONE:
// the jobs API's other states are folded into these three (see vocabulary.ts) and a record is
// sent only when the job moved forward, never for progress or a retry.
import { BridgeError } from '../errors.js';
import { poller, type Get } from './poller.js';
import { epochSeconds, JOB_STATE_RANK, JOB_STATES, lookup, scheduleType, text, whole, type JobState, type UnknownValues } from './vocabulary.js';

/** What the jobs poller remembers between polls (persisted in the state file). */
export interface JobsState {
  /** ISO time: the next poll asks for `lastUpdateTime gt` this. */
  cursor: string | null;
  /** jobId → [last reported state, lastUpdateTime in ms]. */
  known: Record<string, [string, number]>;
}

/** A page getter: the NbApi, or anything that answers the same way. */
export type { Get };

/** Changes made in the same second as the cursor could be missed by `gt`: look back this far. */
export const OVERLAP_MS = 10_000;
/** Finished jobs are forgotten this long after their last update; running ones never. */
const FORGET_DONE_MS = 24 * 3_600_000;
export const MAX_KNOWN = 100_000;

/** The NBWSS state of a jobs API state (or of one remembered by an older release); null when unknown. */
export const jobState = (state: unknown): JobState | null => lookup(JOB_STATES, String(state)) ?? null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The items of a JSON:API page; a page that has none the way the API lists them fails the poll. */
export function itemsOf(page: unknown, path: string): { id: unknown; attributes: Record<string, unknown> }[] {
  const data = isObject(page) ? page.data : undefined;
  if (!Array.isArray(data)) throw new BridgeError('NBW_ERR_POLL_FAILED', `${path}: the answer has no "data" list`);
  return data.filter(isObject).map((item) => ({ id: item.id, attributes: isObject(item.attributes) ? item.attributes : {} }));
}

/** `meta.pagination` of a page, or an empty object. */
export function paginationOf(page: unknown): Record<string, unknown> {
  const meta = isObject(page) ? page.meta : undefined;
  return isObject(meta) && isObject(meta.pagination) ? meta.pagination : {};
}

/** A job id as NetBackup gives them: a positive whole number; null for anything else. */
export function jobIdOf(attributes: Record<string, unknown>, id: unknown): number | null {
  const n = whole(attributes.jobId ?? id);
  return n > 0 ? n : null;
}

/**
 * A JOB record exactly as NetBackup sends one: these ten fields, times in epoch seconds,
 * `status` 0 until the job is DONE.
 */
export function jobRecord(a: Record<string, unknown>, state: JobState, unknown: UnknownValues): Record<string, unknown> {
  return {
    jobId: whole(a.jobId),
    parentJobId: whole(a.parentJobId),
    jobType: text(a.jobType),
    policyType: text(a.policyType),
    policyName: text(a.policyName),
    scheduleType: scheduleType(a.scheduleType, unknown),
    clientName: text(a.clientName),
    state,
    status: state === 'DONE' ? whole(a.status) : 0,
    startTime: epochSeconds(a.startTime) ?? 0,
  };
}

/** One poll: the records to report and the state to remember afterwards (the input is not changed). */
export async function pollJobs(get: Get, prev: JobsState, now: number, unknown: UnknownValues): Promise<{ records: Record<string, unknown>[]; state: JobsState }> {
  const known = new Map(Object.entries(prev.known));
  const cursor = prev.cursor ?? new Date(now - OVERLAP_MS).toISOString();
  const records: Record<string, unknown>[] = [];
  let newest = Date.parse(cursor);
  let after: string | undefined;
  // Stryker disable next-line UpdateOperator,EqualityOperator: a bound against a server that pages forever; a cursor that does not move ends the loop first (tested)
  for (let pages = 0; pages < 10_000; pages++) {
    const query: Record<string, string | number> = { filter: `lastUpdateTime gt ${cursor}`, sort: 'lastUpdateTime', 'page[limit]': 100 };
    if (after !== undefined) query['page[after]'] = after;
    const page = await get('/netbackup/admin/jobs', query);
    // Stryker disable next-line StringLiteral: the path named in the error message
    const items = itemsOf(page, '/netbackup/admin/jobs');
    for (const { id, attributes: a } of items) {
      const jobId = jobIdOf(a, id);
      if (jobId === null) {
        // Stryker disable next-line LogicalOperator: only the value named in the log
        unknown.note('jobId', text(a.jobId ?? id));
        continue;
      }
      const key = String(jobId);
      // A time past the bridge's clock must not move the cursor past changes still to come.
      const updated = Math.min(epochSeconds(a.lastUpdateTime) !== undefined ? Date.parse(String(a.lastUpdateTime)) : now, now);
      newest = Math.max(newest, updated);
      const state = jobState(a.state);
      const before = known.get(key);
      if (state === null) {
        unknown.note('state', text(a.state));
        // Stryker disable next-line ConditionalExpression: the time only decides when a DONE job is forgotten, and a job is never DONE and then in a state the table does not know
        if (before) known.set(key, [before[0], updated]);
        continue;
      }
      const reported = before ? jobState(before[0]) : null;
      if (reported === null || JOB_STATE_RANK[state] > JOB_STATE_RANK[reported]) {
        records.push(jobRecord({ ...a, jobId }, state, unknown));
        known.set(key, [state, updated]);
      } else {
        known.set(key, [reported, updated]);
      }
    }
    const next = paginationOf(page).next;
    const cursorNext = typeof next === 'number' || (typeof next === 'string' && next !== '') ? String(next) : null;
    if (cursorNext === null || items.length === 0 || cursorNext === after) break;
    after = cursorNext;
  }
  const nextCursor = new Date(Math.max(Date.parse(cursor), newest - OVERLAP_MS)).toISOString();
  const entries = [...known].filter(([, [state, updated]]) => state !== 'DONE' || updated > now - FORGET_DONE_MS);
  // Sorting only when over the bound keeps a routine poll cheap; sorting a list within the bound would change nothing.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: within the bound, sorting and slicing keep every entry (trimming past it is tested)
  const kept = entries.length > MAX_KNOWN ? entries.sort((x, y) => y[1][1] - x[1][1]).slice(0, MAX_KNOWN) : entries;
  return { records, state: { cursor: nextCursor, known: Object.fromEntries(kept) } };
}

/** Job notifications (`notifications.jobs`). */
export const JOBS = poller<JobsState>({
  kind: 'jobs',
  object: 'JOB',
  initial: () => ({ cursor: null, known: {} }),
  poll: (get, prev, ctx) => pollJobs(get, prev, ctx.now, ctx.unknown),
});
