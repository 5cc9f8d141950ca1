// A backend is its REST client with layers around it, each wrapping the next as undici's
// interceptors wrap a dispatcher: signing (credentials, and one more try after a 401 on a stale
// session) around the client's HTTP results; then the codec shapes the answer for the wire, and
// filtering keeps the bridge's credentials out of it. Every call of a backend, the cloud's and
// the profiles' own, goes through the same client.
import { AnsweredError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CommandResponsePayload } from '../protocol/envelope.js';
import type { HttpResult, RestCall } from '../rest/client.js';
import type { AuthProfile } from './auth/profile.js';
import { scrub } from './scrub.js';

/** One call and its answer: an HTTP result, or the payload of a COMMAND RESPONSE. */
export type Send<R = HttpResult> = (call: RestCall) => Promise<R>;
/** Wraps a Send in another. */
export type Layer<R = HttpResult> = (next: Send<R>) => Send<R>;

/** `base` wrapped in `layers`, the first outermost. */
export const compose = <R>(base: Send<R>, layers: readonly Layer<R>[]): Send<R> => layers.reduceRight<Send<R>>((next, layer) => layer(next), base);

/**
 * Signs each call with the profile's credentials. A 401 on a session that is stale replaces it
 * (once, for every call that saw it) and the call is made once more.
 */
export const signing = (auth: AuthProfile): Layer => (next) => async (call) => {
  let signed = await auth.apply(call);
  let res = await next(signed.call);
  if (res.status === 401 && (await auth.unauthorized(signed))) {
    signed = await auth.apply(call);
    res = await next(signed.call);
  }
  if (res.status !== 401) auth.accepted(signed);
  auth.inspect(res);
  return res;
};

export interface FilterOptions {
  backend: string;
  /** Response headers that may reach the cloud. */
  allow: ReadonlySet<string>;
  /** Every secret the bridge puts into calls now. */
  secrets: () => readonly string[];
  maxBytes: number;
  log: Logger;
  /** Counts the credentials replaced in an answer. */
  redacted: (hits: number) => void;
}

/** Keeps the bridge's credentials out of the answers of a backend it signs for (see scrub.ts). */
export const filtering = (o: FilterOptions): Layer<CommandResponsePayload> => (next) => async (call) => {
  const res = await next(call);
  const scrubbed = scrub(res, o.allow, o.secrets(), o.maxBytes);
  if (scrubbed === null) {
    throw new AnsweredError(
      'NBW_ERR_REST_FAILED',
      `the answer is compressed (${res.headers['content-encoding']}) in a way the bridge cannot check for its own credentials, so it is withheld`,
    );
  }
  if (scrubbed.hits > 0) {
    o.redacted(scrubbed.hits);
    o.log.warn({ path: call.path.split('?')[0], count: scrubbed.hits }, "the backend echoed a credential of the bridge's in its answer; replaced with [redacted]");
  }
  return scrubbed.res;
};
