// Profiles without a session: headers as the cloud sent them, a NetBackup API key, and
// AhsayCBS's credentials in every request body.
import type { RestCall } from '../../rest/client.js';
import type { CommandResponsePayload } from '../../protocol/envelope.js';
import { AnsweredError } from '../../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan } from '../../protocol/depth.js';
import { Sessionless, withHeaders } from './profile.js';

/** NetBackup's own way: the cloud supplies the JWT, headers go through as they are. */
export class Passthrough extends Sessionless {
  async apply(call: RestCall): Promise<RestCall> {
    return call;
  }
}

/** A local NetBackup API key in Authorization, replacing whatever the cloud sent. */
export class NetBackupApiKey extends Sessionless {
  readonly #key: string;
  constructor(apiKey: string) {
    super();
    this.#key = apiKey;
  }
  async apply(call: RestCall): Promise<RestCall> {
    return withHeaders(call, { authorization: this.#key });
  }
}

/**
 * AhsayCBS JSON API: no session; SysUser and SysPwd go into the JSON body of every call,
 * overwriting any the cloud sent. AhsayCBS reports errors as HTTP 200 with
 * {"Status":"Error"}: those pass through unchanged and are counted.
 */
export class Ahsay extends Sessionless {
  readonly #user: string;
  readonly #password: string;
  readonly #reportError: () => void;

  constructor(username: string, password: string, reportError: () => void) {
    super();
    this.#user = username;
    this.#password = password;
    this.#reportError = reportError;
  }

  /** AhsayCBS takes every API call as POST: a GET from the cloud is sent as POST. */
  methodSent(method: string): string {
    return method === 'GET' ? 'POST' : method;
  }

  async apply(call: RestCall): Promise<RestCall> {
    let body: Record<string, unknown> = {};
    if (call.body !== undefined && call.body.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(call.body);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        body = {};
      }
      if (nestsDeeperThan(body, DEFAULT_MAX_JSON_DEPTH)) {
        throw new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: parameters nest JSON deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      }
    }
    const signed = { ...body, SysUser: this.#user, SysPwd: this.#password };
    const c = withHeaders(call, { 'content-type': 'application/json' });
    return { ...c, method: this.methodSent(c.method) as RestCall['method'], body: JSON.stringify(signed) };
  }

  override inspect(res: CommandResponsePayload): void {
    if (res.responseCode === 200 && res.body.includes('"Status"') && /"Status"\s*:\s*"Error"/.test(res.body)) this.#reportError();
  }
}
