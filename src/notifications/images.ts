// Polling images: the catalog's images backed up within the window, offset-paged to the end.
// After a first poll that takes what is there as the baseline, an IMAGE record is sent for
//   CREATE                   an image not seen before;
//   UPDATE                   a change of its expiration or number of copies (`numCopies`);
//   NO_LOCAL_COPY_AVAILABLE  every copy the catalog lists is a cloud snapshot or a replica
//                            (`fragments[].copyType`), where one was not before;
//   DELETE                   an image still inside the window that two polls in a row did not
//                            find (one miss can be an offset page shifting under the poll); a
//                            poll that finds no image at all counts no misses (a catalog that
//                            answers empty is likelier a fault than every image deleted at once).
// An image that leaves the window by age is forgotten without a record.
import { poller } from './poller.js';
import { itemsOf, type Get } from './jobs.js';
import { clientType, epochSeconds, text, type UnknownValues } from './vocabulary.js';

/** What is remembered of an image between polls. */
export interface ImageSeen {
  /** Expiration, epoch seconds (null: never expires). */
  exp: number | null;
  /** Number of copies (null: the catalog did not say). */
  copies: number | null;
  /** backupTime, epoch seconds. */
  time: number;
  client: string;
  type: string;
  /** At least one copy that is not a cloud snapshot or replica (null: not known, as after an upgrade). */
  local: boolean | null;
  /** Polls in a row that did not find it while it was inside the window. */
  misses: number;
}

export interface ImagesState {
  /** False until the first poll has taken the images already there as the baseline. */
  primed: boolean;
  /** backupId → what was seen (older releases kept [expiration, copies, backupTime]). */
  known: Record<string, ImageSeen | [number | null, number | null, number]>;
}

export type ImageOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'NO_LOCAL_COPY_AVAILABLE';

/** Polls in a row an image inside the window must be missing before it is reported deleted. */
export const DELETE_AFTER_MISSES = 2;

/** Copy types of copies that cannot be restored from this server's own storage. */
const NOT_LOCAL = /REPLICA|CLOUD/;
/** Images remembered at most; past it the oldest are forgotten. */
export const MAX_KNOWN_IMAGES = 200_000;
/** Longest backup id taken (NetBackup's are `<client>_<epoch seconds>`). */
const MAX_ID_CHARS = 1024;

/** The number of copies: `numCopies`, else the distinct copy numbers of the fragments. */
export function copiesOf(a: Record<string, unknown>): number | null {
  if (Number.isFinite(a.numCopies)) return a.numCopies as number;
  if (!Array.isArray(a.fragments) || a.fragments.length === 0) return null;
  return new Set(a.fragments.map((f: { copyNumber?: unknown } | null) => f?.copyNumber)).size;
}

/**
 * False only when the catalog lists copies and every one of them is a cloud snapshot or a
 * replica of one (its fragments' `copyType`); an image without fragments counts as local.
 */
export function hasLocalCopy(a: Record<string, unknown>): boolean {
  if (!Array.isArray(a.fragments) || a.fragments.length === 0) return true;
  const remote = new Map<unknown, boolean>();
  for (const f of a.fragments as ({ copyNumber?: unknown; copyType?: unknown } | null)[]) {
    const isRemote = typeof f?.copyType === 'string' && NOT_LOCAL.test(f.copyType);
    remote.set(f?.copyNumber, (remote.get(f?.copyNumber) ?? true) && isRemote);
  }
  return [...remote.values()].some((r) => !r);
}

/** An IMAGE record exactly as NetBackup sends one: these six fields, times in epoch seconds. */
export function imageRecord(seen: Pick<ImageSeen, 'client' | 'type' | 'time'>, backupId: string, operationId: ImageOperation, createdTime: number): Record<string, unknown> {
  return { backupId, clientName: seen.client, clientType: seen.type, backupTime: seen.time, createdTime, operationId };
}

/** An entry written by an older release, read as what it remembered. */
function upgrade(v: ImageSeen | [number | null, number | null, number]): ImageSeen {
  if (!Array.isArray(v)) return v;
  return { exp: v[0], copies: v[1], time: v[2], client: '', type: '', local: null, misses: 0 };
}

export async function pollImages(get: Get, prev: ImagesState, now: number, windowMs: number, unknown: UnknownValues): Promise<{ records: Record<string, unknown>[]; state: ImagesState }> {
  const since = new Date(now - windowMs).toISOString();
  const created = Math.floor(now / 1000);
  const known = new Map<string, ImageSeen>();
  for (const [id, v] of Object.entries(prev.known)) known.set(id, { ...upgrade(v) });
  const found = new Set<string>();
  const records: Record<string, unknown>[] = [];
  const limit = 100;
  // Stryker disable next-line EqualityOperator: a bound against a server that pages forever; a page with nothing new ends the loop first (tested)
  for (let offset = 0; offset < 10_000_000; offset += limit) {
    const data = itemsOf(await get('/netbackup/catalog/images', { filter: `backupTime ge ${since}`, 'page[offset]': offset, 'page[limit]': limit }), '/netbackup/catalog/images');
    let fresh = false;
    for (const { id: resourceId, attributes: a } of data) {
      const id = text(resourceId ?? a.backupId);
      if (id === '' || id.length > MAX_ID_CHARS) {
        unknown.note('backupId', id);
        continue;
      }
      if (found.has(id)) continue;
      found.add(id);
      fresh = true;
      const was = known.get(id);
      const seen: ImageSeen = {
        exp: epochSeconds(a.expiration) ?? null,
        copies: copiesOf(a),
        time: epochSeconds(a.backupTime) ?? created,
        client: text(a.clientName),
        type: clientType(a.clientType ?? a.policyType, unknown),
        local: hasLocalCopy(a),
        misses: 0,
      };
      known.set(id, seen);
      if (!prev.primed) continue;
      if (!was) records.push(imageRecord(seen, id, 'CREATE', created));
      else if (was.exp !== seen.exp || was.copies !== seen.copies) records.push(imageRecord(seen, id, 'UPDATE', created));
      if (seen.local === false && (!was || was.local === true)) records.push(imageRecord(seen, id, 'NO_LOCAL_COPY_AVAILABLE', created));
    }
    // The last page is a short one; a page with nothing new means the server ignores the offset.
    if (data.length < limit || !fresh) break;
  }
  for (const [id, seen] of known) {
    if (found.has(id)) continue;
    // backupTime is kept in whole seconds: one that may be before the window's start has left it by age.
    if (seen.time * 1000 < now - windowMs) {
      known.delete(id);
      continue;
    }
    if (found.size === 0) continue;
    seen.misses += 1;
    if (seen.misses < DELETE_AFTER_MISSES) continue;
    known.delete(id);
    // Stryker disable next-line ConditionalExpression: before the first poll nothing is known that could go missing
    if (prev.primed) records.push(imageRecord(seen, id, 'DELETE', created));
  }
  // Sorting only when over the bound keeps a routine poll cheap; sorting a list within the bound would change nothing.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: within the bound, sorting and slicing keep every entry (trimming past it is tested)
  const kept = known.size > MAX_KNOWN_IMAGES ? [...known].sort((x, y) => y[1].time - x[1].time).slice(0, MAX_KNOWN_IMAGES) : [...known];
  return { records, state: { primed: true, known: Object.fromEntries(kept) } };
}

/** Image notifications (`notifications.images`). */
export const IMAGES = poller<ImagesState>({
  kind: 'images',
  object: 'IMAGE',
  initial: () => ({ primed: false, known: {} }),
  poll: (get, prev, ctx) => pollImages(get, prev, ctx.now, ctx.config.imagesWindowMs, ctx.unknown),
});
