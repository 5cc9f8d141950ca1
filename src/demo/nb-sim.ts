// A simulation of NetBackup's jobs and catalog images APIs that speaks their query syntax:
// OData-style `filter` (`lastUpdateTime gt …`, `backupTime ge …`), `sort`, `page[limit]`,
// cursor paging for jobs (`page[after]` = `meta.pagination.next`) and offset paging for
// images (`page[offset]`). Tests and the demo add jobs, move them through states, add images
// and copies. Fields, names and enums are those of NetBackup's API 10.0–14.0 (admin.yaml and
// catalog.yaml): jobs name policy types in upper case (`VMWARE`) and schedule types
// `FULL_BACKUP`, …; images carry their backup id only as the resource id, name policy types
// for display (`VMware`, `MS-Windows`), schedule types `FULL`, …, count copies in `numCopies`
// and list each copy's fragments.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request as the test REST servers record it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  text: string;
}

export interface SimJob {
  jobId: number;
  /** 0 for a job without a parent. */
  parentJobId: number;
  jobType: string;
  /** Upper case, as the jobs API names it: VMWARE, STANDARD, WINDOWS_NT, … */
  policyType: string;
  policyName: string;
  /** FULL_BACKUP, DIFFERENTIAL_INCREMENTAL_BACKUP, … */
  scheduleType: string;
  scheduleName: string;
  clientName: string;
  /** QUEUED, ACTIVE, REQUEUED, DONE, SUSPENDED, INCOMPLETE. */
  state: string;
  /** 0 until the job is DONE, then its exit status. */
  status: number;
  startTime: string;
  endTime: string;
  lastUpdateTime: string;
  kilobytesTransferred: number;
  percentComplete: number;
}

/** One fragment of one copy of an image. */
export interface SimFragment {
  copyNumber: number;
  fragmentNumber: number;
  /** Only on cloud snapshot copies: CLOUD_SNAPSHOT or CLOUD_SNAPSHOT_REPLICA. */
  copyType?: string;
  expiration: string;
}

export interface SimImage {
  /** The resource id; the API has no backupId attribute. */
  backupId: string;
  clientName: string;
  policyName: string;
  /** Display-cased, as the catalog names it: VMware, Standard, MS-Windows, Hyper-V, … */
  policyType: string;
  /** FULL, DIFFERENTIAL_INCREMENTAL, CUMULATIVE_INCREMENTAL, USER_BACKUP, USER_ARCHIVE. */
  scheduleType: string;
  scheduleName: string;
  backupTime: string;
  /** null: never expires. */
  expiration: string | null;
  numCopies: number;
  primaryCopy: number;
  fragments: SimFragment[];
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
      parentJobId: 0,
      jobType: 'BACKUP',
      policyType: 'VMWARE',
      policyName: 'vm-daily',
      scheduleType: 'FULL_BACKUP',
      scheduleName: 'daily-full',
      clientName: `vm${jobId}.domain.com`,
      state: 'QUEUED',
      status: 0,
      startTime: at,
      endTime: '1970-01-01T00:00:00.000Z',
      lastUpdateTime: at,
      kilobytesTransferred: 0,
      percentComplete: 0,
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
      job.percentComplete = 100;
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

  /** An image with one local copy (one fragment) unless `fields` says otherwise. */
  addImage(fields: Partial<SimImage> & { backupId: string }): SimImage {
    const now = this.#now();
    const expiration = iso(now + 14 * 86_400_000);
    const image: SimImage = {
      clientName: 'client01',
      policyName: 'vm-daily',
      policyType: 'VMware',
      scheduleType: 'FULL',
      scheduleName: 'daily-full',
      backupTime: iso(now),
      expiration,
      numCopies: 1,
      primaryCopy: 1,
      fragments: [{ copyNumber: 1, fragmentNumber: 1, expiration }],
      ...fields,
    };
    this.images.set(image.backupId, image);
    return image;
  }

  /** Adds a copy (a duplicate, or a cloud snapshot copy when `copyType` is given). */
  addCopy(backupId: string, copyType?: string): SimImage {
    const image = this.#image(backupId);
    const copyNumber = Math.max(0, ...image.fragments.map((f) => f.copyNumber)) + 1;
    image.fragments.push({ copyNumber, fragmentNumber: 1, expiration: image.expiration ?? iso(0), ...(copyType ? { copyType } : {}) });
    image.numCopies = new Set(image.fragments.map((f) => f.copyNumber)).size;
    return image;
  }

  /** Expires one copy: its fragments leave the catalog. */
  expireCopy(backupId: string, copyNumber: number): SimImage {
    const image = this.#image(backupId);
    image.fragments = image.fragments.filter((f) => f.copyNumber !== copyNumber);
    image.numCopies = new Set(image.fragments.map((f) => f.copyNumber)).size;
    if (image.primaryCopy === copyNumber) image.primaryCopy = image.fragments[0]?.copyNumber ?? 0;
    return image;
  }

  #image(backupId: string): SimImage {
    const image = this.images.get(backupId);
    if (!image) throw new Error(`no image ${backupId}`);
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
      // The images API's default window: the last 24 hours.
      if (isImages && !terms.some((t) => t.name === 'backupTime')) {
        const now = this.#now();
        terms.push({ name: 'backupTime', op: 'ge', value: iso(now - 86_400_000) }, { name: 'backupTime', op: 'le', value: iso(now) });
      }
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
      data: list.slice(offset, offset + limit).map(({ backupId, ...attributes }) => ({ type: 'image', id: backupId, attributes })),
      meta: { pagination: { offset, limit, count: list.length, first: 0, last: Math.max(0, Math.floor((list.length - 1) / limit) * limit) } },
    });
    return true;
  }
}
