// Polling images: the images backed up within the window, offset-paged to the end; an IMAGE
// record CREATE for an image not seen before, UPDATE when its expiration or copy count changes.
// A deleted image shows only as an absence from the window, which expiry and the window
// sliding past it look like too, so deletions are not reported (see the README).
import type { Get } from './jobs.js';
import { epochSeconds, scheduleType, type UnknownValues } from './vocabulary.js';

export interface ImagesState {
  /** False until the first poll has taken the images already there as the baseline. */
  primed: boolean;
  /** backupId → [expiration in s, copy count, backupTime in s]. */
  known: Record<string, [number | null, number | null, number]>;
}

type Page = { data?: { id?: string; attributes?: Record<string, unknown> }[]; meta?: { pagination?: { count?: unknown } } };

const copiesOf = (a: Record<string, unknown>): number | null =>
  typeof a.copyCount === 'number' ? a.copyCount : Array.isArray(a.copies) ? a.copies.length : null;

export function imageRecord(a: Record<string, unknown>, operationId: string, unknown: UnknownValues): Record<string, unknown> {
  const record: Record<string, unknown> = {
    backupId: a.backupId,
    clientName: a.clientName,
    clientType: a.policyType,
    policyName: a.policyName,
    scheduleType: scheduleType(a.scheduleType, unknown),
    backupTime: epochSeconds(a.backupTime),
    expiration: epochSeconds(a.expiration),
    copyCount: copiesOf(a) ?? undefined,
    operationId,
  };
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return record;
}

export async function pollImages(get: Get, prev: ImagesState, now: number, windowMs: number, unknown: UnknownValues): Promise<{ records: Record<string, unknown>[]; state: ImagesState }> {
  const since = new Date(now - windowMs).toISOString();
  const known = { ...prev.known };
  const records: Record<string, unknown>[] = [];
  const limit = 100;
  for (let offset = 0; offset < 10_000_000; offset += limit) {
    const page = (await get('/netbackup/catalog/images', { filter: `backupTime ge ${since}`, 'page[offset]': offset, 'page[limit]': limit })) as Page;
    const data = page.data ?? [];
    for (const item of data) {
      const a: Record<string, unknown> = { backupId: item.id, ...(item.attributes ?? {}) };
      const id = String(a.backupId);
      const expiration = epochSeconds(a.expiration) ?? null;
      const copies = copiesOf(a);
      const seen = known[id];
      if (prev.primed && !seen) records.push(imageRecord(a, 'CREATE', unknown));
      else if (prev.primed && seen && (seen[0] !== expiration || seen[1] !== copies)) records.push(imageRecord(a, 'UPDATE', unknown));
      known[id] = [expiration, copies, epochSeconds(a.backupTime) ?? Math.floor(now / 1000)];
    }
    const count = Number(page.meta?.pagination?.count);
    if (data.length < limit || (Number.isFinite(count) && offset + limit >= count)) break;
  }
  const horizon = Math.floor((now - windowMs) / 1000);
  const kept = Object.entries(known).filter(([, [, , backupTime]]) => backupTime >= horizon);
  return { records, state: { primed: true, known: Object.fromEntries(kept) } };
}
