// A simulated cloud endpoint and REST API on loopback, and the bridge configuration that
// joins them: the common ground of the demo and the tests.
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../config/load.js';
import { FakeCloud, type FakeCloudOptions } from './fake-cloud.js';
import { RestServer, type RestHandler } from './fake-rest.js';

export interface Loopback {
  cloud: FakeCloud;
  rest: RestServer;
  /** The bridge's configuration: cloud.url, the token and rest.baseUrl point at the two servers. */
  config: Config;
  stop(): Promise<void>;
}

export interface LoopbackOptions {
  rest: RestHandler;
  cloud?: Omit<FakeCloudOptions, 'token'>;
  /** Config values by key, as CLI flags give them; they win over the loopback addresses. */
  overrides?: Record<string, string>;
  /** Environment the configuration is loaded from (nothing by default). */
  env?: Record<string, string>;
}

export async function startLoopback(opts: LoopbackOptions): Promise<Loopback> {
  const token = `loopback-${randomUUID()}`;
  const rest = await new RestServer(opts.rest).start();
  const cloud = await new FakeCloud({ ...opts.cloud, token }).start();
  const { config } = loadConfig({
    env: opts.env ?? {},
    overrides: { 'cloud.url': cloud.url, 'cloud.token': token, 'rest.baseUrl': rest.url, ...opts.overrides },
    purpose: 'run',
  });
  return {
    cloud,
    rest,
    config,
    async stop() {
      await cloud.stop();
      await rest.stop();
    },
  };
}
