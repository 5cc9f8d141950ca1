// `nbwss-bridge doctor`: every check in order, from the configuration to the cloud and the REST
// API. A check that cannot run because an earlier one failed is not run.
import { loadConfig, type LoadOptions } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { checkEndpoint } from './cloud.js';
import { serviceState } from '../service/system.js';
import { checkSecrets, checkStateDir, checkSystemd, secretReader } from './local.js';
import { fail, ok, warn, type CheckResult } from './report.js';
import { checkRest } from './rest.js';

export interface DoctorOptions {
  /** Leave out the systemd check (tests, and hosts checked from a container). */
  systemd?: boolean;
  /**
   * Make a CONNECT handshake with each endpoint's token. By default it is made unless the
   * service is running: a second session with its token could take commands it would not serve.
   */
  connect?: boolean;
}

export async function runDoctor(load: LoadOptions, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  // Asked once: the systemd check reports it, and a running service's session is left alone.
  const state = opts.systemd === false ? Promise.resolve(null) : serviceState();
  const systemd = state.then((s) => (s === null ? [] : checkSystemd('/', s)));
  let loaded;
  try {
    loaded = loadConfig(load);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) out.push(fail('config', p, 'fix the key named (nbwss-bridge --help lists every key)'));
    return [...out, ...(await systemd)];
  }
  const { config, warnings } = loaded;
  out.push(ok('config', `${config.configFile ?? 'no config file (defaults, environment and flags)'} is valid: ${config.cloud.endpoints.length} endpoint(s), ${config.backends.length} backend(s)`));
  for (const w of warnings) out.push(warn('config', w, 'remove or correct it'));
  out.push(...checkSecrets(config, load.env, opts.systemd === false ? null : secretReader()), checkStateDir(config), ...(await systemd));
  const connect = opts.connect ?? (await state) !== 'active';
  const [cloud, rest] = await Promise.all([Promise.all(config.cloud.endpoints.map((e) => checkEndpoint(e, config, connect))), checkRest(config)]);
  return [...out, ...cloud.flat(), ...rest];
}
