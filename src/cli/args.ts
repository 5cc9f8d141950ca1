// Command-line parsing: the subcommand, its operands, --config, and one flag per config key.
import { parseArgs } from 'node:util';
import { schemaLeaves } from '../config/leaves.js';
import { UsageError } from '../errors.js';

export const COMMANDS = ['run', 'replay', 'check-config', 'demo'] as const;
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
}

/** A usage error: the CLI prints it and exits 2. */
export { UsageError };

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

function optionSpecs(): { options: Record<string, OptionSpec>; keyOf: Map<string, string> } {
  const options: Record<string, OptionSpec> = {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'V' },
    'keep-running': { type: 'boolean' },
  };
  const keyOf = new Map<string, string>();
  for (const leaf of schemaLeaves()) {
    if (!leaf.flag) continue;
    options[leaf.flag] = { type: leaf.boolean ? 'boolean' : 'string' };
    keyOf.set(leaf.flag, leaf.key);
  }
  return { options, keyOf };
}

export function parseCli(argv: readonly string[]): ParsedArgs {
  const { options, keyOf } = optionSpecs();
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [first, ...operands] = positionals;
  let command: Command | null = null;
  if (first !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new UsageError(`unknown command "${first}" (commands: ${COMMANDS.join(', ')})`);
    }
    command = first as Command;
  }
  const overrides: Record<string, string> = {};
  for (const [flag, key] of keyOf) {
    const v = values[flag];
    if (v !== undefined) overrides[key] = String(v);
  }
  return {
    command,
    operands,
    configFile: values.config as string | undefined,
    overrides,
    help: values.help === true,
    version: values.version === true,
    keepRunning: values['keep-running'] === true,
  };
}

/** The --help text, with every flag and variable taken from the schema. */
export function helpText(): string {
  const lines = [
    'Usage: nbwss-bridge <command> [options]',
    '',
    'Commands:',
    '  run                 run the daemon: dial the cloud endpoint and serve its COMMAND REQUESTs',
    '  replay FILE...      send COMMAND REQUEST files through validation, policy, queue and the REST API;',
    '                      print the COMMAND RESPONSE envelopes as NDJSON, in file order',
    '  check-config        print the effective configuration with secrets redacted (exit 2 on error)',
    '  demo                run a simulated cloud and REST API around the real daemon and replay fixtures/',
    '                      (--keep-running leaves it up for exploring)',
    '',
    'Options:',
    '  -c, --config FILE   JSON config file (or NBWSS_CONFIG)',
    '  -h, --help          this text',
    '  -V, --version       the version',
    '',
    'Settings (flag, environment variable, config key; flags win over the environment, which wins over the file):',
  ];
  for (const leaf of schemaLeaves()) {
    const flag = leaf.flag ? `--${leaf.flag}${leaf.boolean ? '' : ' V'}` : '(no flag: secret)';
    lines.push(`  ${flag.padEnd(34)} ${(leaf.env ?? '').padEnd(32)} ${leaf.key}`);
    lines.push(`      ${leaf.doc}${leaf.sensitive ? '' : ` (default: ${JSON.stringify(leaf.default)})`}`);
  }
  lines.push('', 'Exit codes: 0 done, 1 failure, 2 bad configuration or usage.');
  return lines.join('\n');
}
