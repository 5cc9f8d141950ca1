// The cloud side of a test played by the product's own hub: `command` sends through
// hub.request and gives the answer in the shape the tests read (payload.responseCode, headers,
// body), a bridge's own error answer included. For tests that need a cloud misbehaving on
// purpose, or the exact frames, FakeCloud stays.
import { BridgeAnswerError, Hub } from '../../src/cloud/index.js';
import { DEMO_JWT, NB_MEDIA_TYPE, type CloudMessage } from './fakes.js';

export interface HubCommandOptions {
  headers?: Record<string, string>;
  parameters?: string;
  id?: string;
}

export class HubPeer {
  constructor(
    readonly hub: Hub,
    readonly agentId: string,
  ) {}

  /** A hub whose one agent is `agentId`, proving itself with `token`. */
  static async start(token: string, agentId = 'agent'): Promise<HubPeer> {
    return new HubPeer(await Hub.listen({ authenticate: (t) => (t === token ? { agentId } : null), requestTimeoutMs: 30_000 }), agentId);
  }

  get url(): string {
    return this.hub.url;
  }

  async ready(timeoutMs = 10_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hub.agents().some((a) => a.agentId === this.agentId)) {
      if (Date.now() > deadline) throw new Error(`agent ${this.agentId} did not connect within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this;
  }

  async command(method: string, uri: string, opts: HubCommandOptions = {}): Promise<CloudMessage> {
    const req = { method, uri, headers: opts.headers ?? { 'Content-Type': NB_MEDIA_TYPE, Authorization: DEMO_JWT }, ...(opts.parameters === undefined ? {} : { body: opts.parameters }), ...(opts.id ? { id: opts.id } : {}) };
    try {
      const r = await this.hub.request(this.agentId, req);
      const binary = Buffer.isBuffer(r.body);
      return { id: r.id, type: 'COMMAND', subType: 'RESPONSE', payload: { responseCode: r.status, headers: r.headers, body: binary ? r.body.toString('base64') : r.body, ...(binary ? { bodyEncoding: 'base64' } : {}) } };
    } catch (err) {
      if (!(err instanceof BridgeAnswerError)) throw err;
      return { type: 'COMMAND', subType: 'RESPONSE', payload: { responseCode: err.status, headers: err.headers, body: err.body } };
    }
  }

  stop(): Promise<void> {
    return this.hub.close();
  }
}
