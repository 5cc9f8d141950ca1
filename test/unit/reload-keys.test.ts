// Every key of the configuration either takes effect on a reload or is named as needing a
// restart: none is silently left as it was.
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { schemaLeaves } from '../../src/config/leaves.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { captureLog } from '../support/log.js';

/** Keys a reload applies at once or on the next dial (see the README's "Reload" section). */
const LIVE = new Set([
  // The cloud endpoints, their tokens, CA and proxy: the next dial.
  'cloud.url', 'cloud.endpoints', 'cloud.endpointsFile', 'cloud.proxy', 'cloud.token', 'cloud.tokenFile', 'cloud.caFile', 'cloud.allowInsecure',
  // The backends are rebuilt from these (the loader folds rest.* into the backend "netbackup").
  'rest.baseUrl', 'rest.caFile', 'rest.servername', 'rest.probeMs', 'rest.timeoutMs', 'rest.allowedPaths', 'rest.allowedMethods', 'rest.allowPathParameters', 'rest.maxResponseBytes', 'backends',
  'login.minMs', 'login.maxMs',
  'notifications.apiKeyFile',
  'shutdown.graceMs',
  'log.level',
]);

const set = (c: Config, key: string, value: unknown): Config => {
  const [section, name] = key.split('.') as [string, string | undefined];
  if (name === undefined) return { ...c, [section]: value } as Config;
  return { ...c, [section]: { ...(c as unknown as Record<string, Record<string, unknown>>)[section], [name]: value } } as Config;
};

describe('a reload', () => {
  it('names every key whose change it does not apply', async () => {
    const { config } = loadConfig({ env: { NBWSS_CLOUD_URL: 'ws://127.0.0.1:1/x', NBWSS_CLOUD_TOKEN: 't' }, purpose: 'run' });
    const daemon = await Daemon.open(config, captureLog('silent').log);
    const unaccounted: string[] = [];
    for (const leaf of schemaLeaves()) {
      if (LIVE.has(leaf.key)) continue;
      const old = leaf.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config);
      let value: unknown;
      if (typeof old === 'number') value = old + 1;
      else if (typeof old === 'boolean') value = !old;
      else if (typeof old === 'string') value = `${old}-changed`;
      else if (old === null) value = 'changed';
      else continue; // lists and objects: covered by the named keys above
      const needsRestart = daemon.reload(set(config, leaf.key, value));
      daemon.reload(config);
      if (!needsRestart.includes(leaf.key)) unaccounted.push(leaf.key);
    }
    expect(unaccounted).toEqual([]);
    await daemon.stop();
  });
});
