// Polling jobs: everything updated since the cursor, cursor-paged to the end; a JOB record
// when a job is first seen and whenever its state changes, not on progress updates.
import { epochSeconds, scheduleType, type UnknownValues } from './vocabulary.js';

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

/** A JOB record in NBWSS vocabulary. */
export function jobRecord(a: Record<string, unknown>, unknown: UnknownValues): Record<string, unknown> {
  const record: Record<string, unknown> = {
    jobId: a.jobId,
    parentJobId: a.parentJobId,
    jobType: a.jobType,
    policyType: a.policyType,
    policyName: a.policyName,
    scheduleType: scheduleType(a.scheduleType, unknown),
    clientName: a.clientName,
    state: a.state,
  };
  if (a.state === 'DONE') record.status = a.status;
  const start = epochSeconds(a.startTime);
  if (start !== undefined) record.startTime = start;
  const end = epochSeconds(a.endTime);
  if (a.state === 'DONE' && end !== undefined) record.endTime = end;
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return record;
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
      const state = String(a.state ?? '');
      const updated = Date.parse(String(a.lastUpdateTime ?? '')) || now;
      newest = Math.max(newest, updated);
      if (known[jobId]?.[0] !== state) records.push(jobRecord({ jobId: Number(jobId), ...a }, unknown));
      known[jobId] = [state, updated];
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
