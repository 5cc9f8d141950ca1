// A simulated cloud endpoint and REST API on loopback, and the bridge configuration that
// joins them: the common ground of the demo and the tests.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** Backends beside the simulated REST API (given its URL), written to a config file in `dir`. */
  backends?: { dir: string; list(restUrl: string): object[] };
}

export async function startLoopback(opts: LoopbackOptions): Promise<Loopback> {
  const token = `loopback-${randomUUID()}`;
  const rest = await new RestServer(opts.rest).start();
  const cloud = await new FakeCloud({ ...opts.cloud, token }).start();
  let configFile: string | undefined;
  if (opts.backends) {
    configFile = join(opts.backends.dir, 'config.json');
    await writeFile(configFile, JSON.stringify({ backends: opts.backends.list(rest.url) }), { mode: 0o600 });
  }
  const { config } = loadConfig({
    env: opts.env ?? {},
    configFile,
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
