// AhsayCBS JSON API: no session; SysUser and SysPwd go into the JSON body of every call,
// overwriting any the cloud sent, and every call is a POST. The cloud's parameters must be a
// JSON object (or absent): anything else is answered 400, never sent with the credentials
// alone. AhsayCBS reports errors as HTTP 200 with {"Status":"Error"}, or with an exception
// type (ExptType) beside "Status":"OK": those pass through unchanged and are counted.
import { AnsweredError } from '../../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan } from '../../protocol/depth.js';
import type { HttpResult, RestCall } from '../../rest/client.js';
import { Sessionless, textOf, value, withHeaders, type AuthValues, type ProfileContext, type ProfileSpec, type Signed } from './profile.js';

/** True for an AhsayCBS answer that reports an error: "Status":"Error", or an exception type (ExptType). */
export function reportsError(body: string): boolean {
  // Stryker disable next-line StringLiteral: a fast path; the pattern finds the same
  if (body.includes('"Status"') && /"Status"\s*:\s*"Error"/.test(body)) return true;
  // Stryker disable next-line ConditionalExpression,StringLiteral: a fast path; parsing finds no ExptType either
  if (!body.includes('"ExptType"')) return false;
  // Stryker disable BlockStatement: an empty catch returns undefined, as false as false
  try {
    const parsed = JSON.parse(body) as { ExptType?: unknown } | null;
    // Stryker disable next-line ConditionalExpression,OptionalChaining: reading ExptType of null, or trimming what is no string, throws and the catch answers false all the same
    return typeof parsed?.ExptType === 'string' && parsed.ExptType.trim() !== '';
  } catch {
    return false;
  }
  // Stryker restore BlockStatement
}

class Ahsay extends Sessionless {
  readonly #user: string;
  readonly #password: string;
  readonly #ctx: ProfileContext;

  constructor(values: AuthValues, ctx: ProfileContext) {
    super();
    this.#user = value(values, 'username');
    this.#password = value(values, 'password');
    this.#ctx = ctx;
  }

  /** AhsayCBS takes every API call as POST: a GET from the cloud is sent as POST. */
  methodSent(method: string): string {
    return method === 'GET' ? 'POST' : method;
  }

  async apply(call: RestCall): Promise<Signed> {
    let body: Record<string, unknown> = {};
    if (call.body !== undefined && call.body.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(call.body);
      } catch {
        throw new AnsweredError('NBW_ERR_ENVELOPE_INVALID', 'invalid COMMAND REQUEST: parameters must be a JSON object for AhsayCBS (they are not JSON)');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
        throw new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: parameters must be a JSON object for AhsayCBS (they are ${kind})`);
      }
      body = parsed as Record<string, unknown>;
      if (nestsDeeperThan(body, DEFAULT_MAX_JSON_DEPTH)) {
        throw new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: parameters nest JSON deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      }
    }
    const signed = { ...body, SysUser: this.#user, SysPwd: this.#password };
    const c = withHeaders(call, this.#ctx.strip, { 'content-type': 'application/json' });
    // Stryker disable next-line BooleanLiteral: `fresh` matters only to a profile whose 401s replace a session
    return { call: { ...c, method: this.methodSent(c.method) as RestCall['method'], body: JSON.stringify(signed) }, session: 0, fresh: false };
  }

  override inspect(res: HttpResult): void {
    if (res.status !== 200) return;
    if (reportsError(textOf(res))) this.#ctx.reportError();
  }

  override secrets(): readonly string[] {
    return [this.#password];
  }
}

export const ahsay: ProfileSpec = {
  type: 'ahsay',
  keys: { username: { required: true }, passwordFile: { secret: 'password', required: true } },
  sets: { headers: [], body: ['SysUser', 'SysPwd'] },
  signs: true,
  create: (values, ctx) => new Ahsay(values, ctx),
};
