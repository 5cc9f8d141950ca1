// A simulation of NetBackup's jobs and catalog images APIs that speaks their query syntax:
// OData-style `filter` (`lastUpdateTime gt …`, `backupTime ge …`), `sort`, `page[limit]`,
// cursor paging for jobs (`page[after]` = `meta.pagination.next`) and offset paging for
// images (`page[offset]`). Tests and the demo add jobs, move them through states, add images.
import type { ServerResponse } from 'node:http';
import type { RecordedRequest } from './fake-rest.js';

export interface SimJob {
  jobId: number;
  parentJobId: number;
  jobType: string;
  policyType: string;
  policyName: string;
  scheduleType: string;
  clientName: string;
  state: string;
  status: number | null;
  startTime: string;
  endTime: string | null;
  lastUpdateTime: string;
  kilobytesTransferred: number;
}

export interface SimImage {
  backupId: string;
  clientName: string;
  policyName: string;
  policyType: string;
  scheduleType: string;
  backupTime: string;
  expiration: string;
  copyCount: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One `name op 'value'` or `name op value` term of a filter; terms joined by `and`. */
function parseFilter(filter: string | null): { name: string; op: string; value: string }[] {
  if (!filter) return [];
  return filter.split(/\s+and\s+/i).map((term) => {
    const m = /^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+'?([^']*?)'?\s*$/.exec(term);
    if (!m) throw new Error(`cannot parse filter term ${JSON.stringify(term)}`);
    return { name: m[1] as string, op: m[2] as string, value: m[3] as string };
  });
}

function matches(obj: Record<string, unknown>, terms: { name: string; op: string; value: string }[]): boolean {
  return terms.every(({ name, op, value }) => {
    const v = obj[name];
    const a = typeof v === 'number' ? v : typeof v === 'string' && /Time$|expiration/.test(name) ? Date.parse(v) : String(v);
    const b = typeof a === 'number' ? (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value)) : value;
    switch (op) {
      case 'eq': return a === b;
      case 'ne': return a !== b;
      case 'gt': return a > b;
      case 'ge': return a >= b;
      case 'lt': return a < b;
      default: return a <= b;
    }
  });
}

export interface NbSimOptions {
  /** Newest API version offered; newer ones are answered 406. */
  maxVersion?: number;
  /** The clock (ms since the epoch). */
  now?: () => number;
}

export class NbSim {
  readonly jobs = new Map<number, SimJob>();
  readonly images = new Map<string, SimImage>();
  maxVersion: number;
  /** Answers to give the next polls before the real ones (e.g. 503, or 429 with Retry-After). */
  readonly faults: { status: number; retryAfter?: string }[] = [];
  /** Queries seen, for assertions. */
  readonly queries: string[] = [];
  #nextJob = 1000;
  readonly #now: () => number;
  #lastTick = 0;

  constructor(opts: NbSimOptions = {}) {
    this.maxVersion = opts.maxVersion ?? 14;
    this.#now = opts.now ?? Date.now;
  }

  /** A strictly increasing update time, so every change is after the previous one. */
  #tick(): string {
    this.#lastTick = Math.max(this.#now(), this.#lastTick + 1);
    return iso(this.#lastTick);
  }

  addJob(fields: Partial<SimJob> = {}): SimJob {
    const jobId = fields.jobId ?? this.#nextJob++;
    this.#nextJob = Math.max(this.#nextJob, jobId + 1);
    const at = this.#tick();
    const job: SimJob = {
      jobId,
      parentJobId: jobId,
      jobType: 'BACKUP',
      policyType: 'VMWARE',
      policyName: 'vm-daily',
      scheduleType: 'FULL_BACKUP',
      clientName: `vm${jobId}.domain.com`,
      state: 'QUEUED',
      status: null,
      startTime: at,
      endTime: null,
      lastUpdateTime: at,
      kilobytesTransferred: 0,
      ...fields,
    };
    this.jobs.set(jobId, job);
    return job;
  }

  /** Moves a job to a state (DONE gets `status`, 0 by default). */
  setJobState(jobId: number, state: string, status = 0): SimJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    job.state = state;
    job.lastUpdateTime = this.#tick();
    if (state === 'DONE') {
      job.status = status;
      job.endTime = job.lastUpdateTime;
    }
    return job;
  }

  /** A progress update: changes lastUpdateTime but not the state. */
  progress(jobId: number, kilobytes: number): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    job.kilobytesTransferred = kilobytes;
    job.lastUpdateTime = this.#tick();
  }

  addImage(fields: Partial<SimImage> & { backupId: string }): SimImage {
    const now = this.#now();
    const image: SimImage = {
      clientName: 'client01',
      policyName: 'vm-daily',
      policyType: 'VMWARE',
      scheduleType: 'FULL_BACKUP',
      backupTime: iso(now),
      expiration: iso(now + 14 * 86_400_000),
      copyCount: 1,
      ...fields,
    };
    this.images.set(image.backupId, image);
    return image;
  }

  /** Answers a request if it is for the jobs or images API; returns false otherwise. */
  handle(req: RecordedRequest, res: ServerResponse): boolean {
    const url = new URL(req.url, 'http://nb.invalid');
    const isJobs = url.pathname === '/netbackup/admin/jobs';
    const isImages = url.pathname === '/netbackup/catalog/images';
    if (!isJobs && !isImages) return false;
    this.queries.push(req.url);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': `application/vnd.netbackup+json;version=${this.maxVersion}.0`, ...headers });
      res.end(JSON.stringify(body));
    };
    const fault = this.faults.shift();
    if (fault) {
      send(fault.status, { errorCode: fault.status, errorMessage: 'simulated fault' }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      return true;
    }
    if (!req.headers.authorization) {
      send(401, { errorCode: 8000, errorMessage: 'Authorization header is missing' });
      return true;
    }
    const asked = /version=(\d+)/.exec(String(req.headers.accept ?? ''));
    if (asked && Number(asked[1]) > this.maxVersion) {
      send(406, { errorCode: 406, errorMessage: `version ${asked[1]}.0 is not supported` });
      return true;
    }
    let terms;
    try {
      terms = parseFilter(url.searchParams.get('filter'));
    } catch (err) {
      send(400, { errorCode: 400, errorMessage: (err as Error).message });
      return true;
    }
    const limit = Math.min(Number(url.searchParams.get('page[limit]') ?? 10) || 10, 100);
    if (isJobs) {
      const sort = url.searchParams.get('sort') ?? 'jobId';
      const key = sort.replace(/^-/, '') as keyof SimJob;
      const dir = sort.startsWith('-') ? -1 : 1;
      const list = [...this.jobs.values()]
        .filter((j) => matches(j as unknown as Record<string, unknown>, terms))
        .sort((a, b) => (String(a[key]) < String(b[key]) ? -dir : String(a[key]) > String(b[key]) ? dir : a.jobId - b.jobId));
      const after = Number(url.searchParams.get('page[after]') ?? 0);
      const page = list.slice(after, after + limit);
      const next = after + limit < list.length ? String(after + limit) : undefined;
      send(200, {
        data: page.map((j) => ({ type: 'job', id: String(j.jobId), attributes: { ...j } })),
        meta: { pagination: { limit, ...(next ? { next } : {}) } },
      });
      return true;
    }
    const list = [...this.images.values()]
      .filter((i) => matches(i as unknown as Record<string, unknown>, terms))
      .sort((a, b) => Date.parse(b.backupTime) - Date.parse(a.backupTime) || a.backupId.localeCompare(b.backupId));
    const offset = Number(url.searchParams.get('page[offset]') ?? 0);
    send(200, {
      data: list.slice(offset, offset + limit).map((i) => ({ type: 'image', id: i.backupId, attributes: { ...i } })),
      meta: { pagination: { offset, limit, count: list.length } },
    });
    return true;
  }
}
