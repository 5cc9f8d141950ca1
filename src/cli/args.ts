// Command-line parsing: the subcommand, its operands, --config, one flag per config key, and the
// few flags of doctor and service.
import { parseArgs } from 'node:util';
import { schemaLeaves } from '../config/leaves.js';
import { UsageError } from '../errors.js';

export const COMMANDS = ['run', 'check-config', 'doctor', 'service', 'replay', 'demo'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
  command: Command | null;
  operands: string[];
  configFile: string | undefined;
  /** Config values from flags, by config key. */
  overrides: Record<string, string>;
  help: boolean;
  version: boolean;
  keepRunning: boolean;
  /** doctor --json */
  json: boolean;
  /** service: --root DIR, --dry-run, --purge, --ca-fingerprint HEX, --unit-variant V, --systemd-version N. */
  service: { root?: string; dryRun: boolean; purge: boolean; caFingerprint?: string; unitVariant?: string; systemdVersion?: string };
}

/** A usage error: the CLI prints it and exits 2. */
export { UsageError };

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

const OWN_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  'keep-running': { type: 'boolean' },
  json: { type: 'boolean' },
  root: { type: 'string' },
  'dry-run': { type: 'boolean' },
  purge: { type: 'boolean' },
  'ca-fingerprint': { type: 'string' },
  'unit-variant': { type: 'string' },
  'systemd-version': { type: 'string' },
};

function optionSpecs(): { options: Record<string, OptionSpec>; keyOf: Map<string, string> } {
  const options: Record<string, OptionSpec> = { ...OWN_OPTIONS };
  const keyOf = new Map<string, string>();
  for (const leaf of schemaLeaves()) {
    if (!leaf.flag) continue;
    options[leaf.flag] = { type: leaf.boolean ? 'boolean' : 'string' };
    keyOf.set(leaf.flag, leaf.key);
  }
  return { options, keyOf };
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length] as number;
}

/** The known flag closest to `name`, when it is close enough to be a typo. */
export function nearestFlag(name: string, flags: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const f of flags) {
    const d = distance(name, f);
    if (d < bestD) [best, bestD] = [f, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : null;
}

/** Node's parser errors, said the way the rest of the CLI speaks. */
function usageOf(err: NodeJS.ErrnoException, options: Record<string, OptionSpec>): UsageError {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
  const bare = flag.replace(/^-+/, '').replace(/=.*$/, '');
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const negated = bare.startsWith('no-') && options[bare.slice(3)]?.type === 'string';
    if (negated) return new UsageError(`--${bare.slice(3)} takes a value; it has no --no- form`);
    const near = nearestFlag(bare, Object.keys(options));
    return new UsageError(`unknown option ${flag}${near ? ` (did you mean --${near}?)` : ''}`);
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (options[bare]?.type === 'boolean') return new UsageError(`--${bare} takes no value (use --${bare} or --no-${bare})`);
    return new UsageError(`--${bare} needs a value`);
  }
  return new UsageError(err.message);
}

export function parseCli(argv: readonly string[]): ParsedArgs {
  const { options, keyOf } = optionSpecs();
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (err) {
    throw usageOf(err as NodeJS.ErrnoException, options);
  }
  const { values, positionals } = parsed;
  const [first, ...operands] = positionals;
  let command: Command | null = null;
  if (first !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new UsageError(`unknown command "${first.slice(0, 40)}" (commands: ${COMMANDS.join(', ')})`);
    }
    command = first as Command;
  }
  const overrides: Record<string, string> = {};
  for (const [flag, key] of keyOf) {
    const v = values[flag];
    if (v !== undefined) overrides[key] = String(v);
  }
  const str = (name: string) => values[name] as string | undefined;
  const service: ParsedArgs['service'] = { dryRun: values['dry-run'] === true, purge: values.purge === true };
  for (const [flag, field] of [['root', 'root'], ['ca-fingerprint', 'caFingerprint'], ['unit-variant', 'unitVariant'], ['systemd-version', 'systemdVersion']] as const) {
    const v = str(flag);
    if (v !== undefined) service[field] = v;
  }
  return {
    command,
    operands,
    configFile: str('config'),
    overrides,
    help: values.help === true,
    version: values.version === true,
    keepRunning: values['keep-running'] === true,
    json: values.json === true,
    service,
  };
}

/** What a bare `nbwss-bridge` prints: the commands, and where the rest is. */
export function usageText(): string {
  return [
    'Usage: nbwss-bridge <command> [options]',
    '',
    '  run             run the daemon (config: --config FILE, NBWSS_CONFIG or /etc/nbwss-bridge/config.json)',
    '  check-config    print the effective configuration, secrets redacted',
    '  doctor          check the config, secrets, cloud endpoints, REST API and clock; --json for machines',
    '  service         install | uninstall | rotate-token: the systemd service (as root)',
    '  replay FILE...  send COMMAND REQUEST files (- for standard input) through the bridge and print the answers',
    '  demo            run the bridge against a simulated cloud and REST API',
    '  hub             run the cloud side: the agents\' endpoint and an HTTP API for the application (nbwss-bridge hub --help)',
    '',
    'Every option, variable and exit code: nbwss-bridge --help',
  ].join('\n');
}

/** The --help text, with every flag and variable taken from the schema. */
export function helpText(): string {
  const lines = [
    'Usage: nbwss-bridge <command> [options]',
    '',
    'Commands:',
    '  run                 run the daemon: dial the cloud endpoint and serve its COMMAND REQUESTs',
    '  check-config        print the effective configuration with secrets redacted, and where each secret is read from (exit 2 on error)',
    '  doctor              check the configuration, secret files, state dir, systemd, each cloud endpoint (DNS, proxy, TCP, TLS,',
    '                      CONNECT), the REST API (TLS, name, ping), each backend\'s login and the clock; exit 1 when a check fails',
    '  service install     (root) write the config, token, CA and unit, then enable and start the service; the token is read',
    '                      from standard input; --ca-fingerprint SHA256 confirms the REST API\'s CA without a prompt',
    '  service uninstall   (root) stop, disable and remove the unit; --purge also removes the config, secrets and state',
    '  service rotate-token  (root) read a new endpoint token from standard input, write it and make the service use it',
    '  replay FILE...      send COMMAND REQUEST files (- reads standard input) through validation, policy, queue and the REST API;',
    '                      print the COMMAND RESPONSE envelopes as NDJSON, in file order',
    '  demo                run a simulated cloud and REST API around the real daemon and replay fixtures/',
    '                      (--keep-running leaves it up for exploring)',
    '  hub                 run the cloud side: the endpoint agents dial and an HTTP API for the application; its options:',
    '                      nbwss-bridge hub --help',
    '',
    'Options:',
    '  -c, --config FILE   JSON config file (or NBWSS_CONFIG; else /etc/nbwss-bridge/config.json when it exists)',
    '  -h, --help          this text',
    '  -V, --version       the version, and the Node.js it runs on',
    '  --json              doctor: one JSON document instead of lines',
    '  --root DIR          service: install into another filesystem root (no systemctl is run)',
    '  --dry-run           service: print the plan, change nothing',
    '  --purge             service uninstall: also remove /etc/nbwss-bridge and the state',
    '  --unit-variant V    service install: credentials (systemd 247+) or files (older); default: what systemd supports',
    '  --systemd-version N service install: the target\'s systemd version (with --root)',
    '',
    'Settings (flag, environment variable, config key; flags win over the environment, which wins over the file;',
    'an on/off flag is turned off with --no-FLAG):',
  ];
  for (const leaf of schemaLeaves()) {
    const flag = leaf.flag ? `--${leaf.flag}${leaf.boolean ? '' : ' V'}` : '(no flag: secret)';
    lines.push(`  ${flag.padEnd(34)} ${(leaf.env ?? '').padEnd(32)} ${leaf.key}`);
    lines.push(`      ${leaf.doc}${leaf.sensitive ? '' : ` (default: ${JSON.stringify(leaf.default)})`}`);
  }
  lines.push('', 'Exit codes: 0 done, 1 failure (doctor: a check failed), 2 bad configuration or usage.');
  return lines.join('\n');
}
