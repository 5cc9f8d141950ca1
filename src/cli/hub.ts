// `nbwss-bridge hub`: the cloud side as a service (the agents' endpoint and the application's
// HTTP API), configured by a file (--config, NBWSS_HUB_CONFIG), NBWSS_HUB_* and the flags below.
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { createLogger } from '../lifecycle/logger.js';
import { installSignalHandlers } from '../lifecycle/signals.js';
import { hubLeaves, loadHubConfig } from '../hub/config.js';
import { HubService } from '../hub/service.js';

export interface HubCliIo {
  env: NodeJS.ProcessEnv;
  err(line: string): void;
  out(text: string): void;
  exit(code: number): void;
}

export function hubHelp(): string {
  const rows = hubLeaves().map((l) => `  --${l.flag}${l.boolean ? '' : ' V'}`.padEnd(30) + `${l.env}  ${l.doc}${l.default === null ? '' : ` (default ${String(l.default)})`}`);
  return ['Usage: nbwss-bridge hub [--config FILE] [options]', '', 'Options (each also a config file key and an environment variable):', '  -c, --config FILE           JSON config file (or NBWSS_HUB_CONFIG)', ...rows].join('\n');
}

/** Runs the hub until SIGTERM or SIGINT; the exit code on a problem (2: configuration, 1: could not start). */
export async function hubCli(argv: string[], io: HubCliIo): Promise<number | null> {
  const leaves = hubLeaves();
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } };
  for (const l of leaves) options[l.flag] = { type: l.boolean ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (err) {
    io.err(`hub: ${(err as Error).message.split('\n')[0]}; see nbwss-bridge hub --help`);
    return 2;
  }
  if (values.help) {
    io.out(`${hubHelp()}\n`);
    return 0;
  }
  const overrides: Record<string, string> = {};
  for (const l of leaves) if (values[l.flag] !== undefined) overrides[l.key] = String(values[l.flag]);
  let loaded: ReturnType<typeof loadHubConfig>;
  try {
    loaded = loadHubConfig({ env: io.env, configFile: values.config as string | undefined, overrides });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) io.err(`hub: configuration error: ${p}`);
    return 2;
  }
  const log = createLogger({ level: loaded.config.logLevel });
  for (const w of loaded.warnings) log.warn(w);
  let service: HubService;
  try {
    service = await HubService.start(loaded.config, log);
  } catch (err) {
    io.err(`hub: cannot start: ${(err as Error).message}`);
    return 1;
  }
  installSignalHandlers(log.child({ mod: 'signals' }), { stop: () => service.stop(), exit: (code) => io.exit(code) });
  process.on('SIGHUP', () => log.warn({ signal: 'SIGHUP' }, 'the hub reads its configuration when it starts only; restart it to apply a new one'));
  return null;
}
