// Polling jobs: everything updated since the cursor, cursor-paged to the end. As NetBackup
// does, a job is reported when it is first seen, when it becomes ACTIVE and when it is DONE:
// the jobs API's other states are folded into these three (see vocabulary.ts) and a record is
// sent only when the job moved forward, never for progress or a retry.
import { epochSeconds, JOB_STATE_RANK, JOB_STATES, scheduleType, text, whole, type JobState, type UnknownValues } from './vocabulary.js';

/** What the jobs poller remembers between polls (persisted in the state file). */
export interface JobsState {
  /** ISO time: the next poll asks for `lastUpdateTime gt` this. */
  cursor: string | null;
  /** jobId → [last reported state, lastUpdateTime in ms]. */
  known: Record<string, [string, number]>;
}

/** A page getter: the NbApi, or anything that answers the same way. */
export type Get = (path: string, query: Record<string, string | number>) => Promise<unknown>;

/** Changes made in the same second as the cursor could be missed by `gt`: look back this far. */
export const OVERLAP_MS = 10_000;
/** Finished jobs are forgotten this long after their last update; running ones never. */
const FORGET_DONE_MS = 24 * 3_600_000;
const MAX_KNOWN = 100_000;

type Page = { data?: { id?: string; attributes?: Record<string, unknown> }[]; meta?: { pagination?: { next?: unknown } } };

/** The NBWSS state of a jobs API state (or of one remembered by an older release); null when unknown. */
export const jobState = (state: unknown): JobState | null => (typeof state === 'string' ? JOB_STATES[state] ?? null : null);

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
  const known = { ...prev.known };
  const cursor = prev.cursor ?? new Date(now - OVERLAP_MS).toISOString();
  const records: Record<string, unknown>[] = [];
  let newest = Date.parse(cursor);
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const query: Record<string, string | number> = { filter: `lastUpdateTime gt ${cursor}`, sort: 'lastUpdateTime', 'page[limit]': 100 };
    if (after !== undefined) query['page[after]'] = after;
    const page = (await get('/netbackup/admin/jobs', query)) as Page;
    for (const item of page.data ?? []) {
      const a = item.attributes ?? {};
      const jobId = String(a.jobId ?? item.id);
      const updated = Date.parse(String(a.lastUpdateTime ?? '')) || now;
      newest = Math.max(newest, updated);
      const state = jobState(a.state);
      const before = known[jobId];
      if (state === null) {
        unknown.note('state', text(a.state));
        if (before) known[jobId] = [before[0], updated];
        continue;
      }
      const reported = before ? jobState(before[0]) : null;
      if (reported === null || JOB_STATE_RANK[state] > JOB_STATE_RANK[reported]) {
        records.push(jobRecord({ jobId: Number(jobId), ...a }, state, unknown));
        known[jobId] = [state, updated];
      } else {
        known[jobId] = [reported, updated];
      }
    }
    const next = page.meta?.pagination?.next;
    if (next === undefined || next === null || next === '' || (page.data ?? []).length === 0) break;
    after = String(next);
  }
  const nextCursor = new Date(Math.max(Date.parse(cursor), newest - OVERLAP_MS)).toISOString();
  const entries = Object.entries(known).filter(([, [state, updated]]) => state !== 'DONE' || updated > now - FORGET_DONE_MS);
  const kept = entries.length > MAX_KNOWN ? entries.sort((x, y) => y[1][1] - x[1][1]).slice(0, MAX_KNOWN) : entries;
  return { records, state: { cursor: nextCursor, known: Object.fromEntries(kept) } };
}
