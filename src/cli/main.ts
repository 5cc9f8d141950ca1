// The nbwss-bridge command: the only place that reads process.env and argv and calls process.exit.
import { loadConfig, redactedConfig, secretFileWarnings, type Loaded, type LoadOptions } from '../config/load.js';
import { EXIT, VERSION } from '../constants.js';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../lifecycle/logger.js';
import { Daemon } from '../lifecycle/daemon.js';
import { installSignalHandlers } from '../lifecycle/signals.js';
import { helpText, parseCli, UsageError, type ParsedArgs } from './args.js';
import { replayFiles } from './replay.js';

const fail = (line: string): never => {
  process.stderr.write(`nbwss-bridge: ${line}\n`);
  process.exit(EXIT.usage);
};

function load(args: ParsedArgs, purpose: LoadOptions['purpose']): Loaded {
  try {
    return loadConfig({ env: process.env, configFile: args.configFile, overrides: args.overrides, purpose });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`nbwss-bridge: configuration error: ${p}\n`);
    process.exit(EXIT.usage);
  }
}

async function run(args: ParsedArgs): Promise<void> {
  const { config, warnings } = load(args, 'run');
  const log = createLogger({ level: config.log.level });
  for (const w of warnings) log.warn(w);
  let daemon: Daemon | null = null;
  try {
    daemon = await Daemon.open(config, log);
    const d = daemon;
    installSignalHandlers(log, {
      stop: () => d.stop(),
      reload: () => reload(args, d, log),
      exit: (code) => {
        log.flush();
        process.exit(code);
      },
    });
    await daemon.start();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`nbwss-bridge: configuration error: ${p}\n`);
    await daemon?.stop('configuration error');
    process.exit(EXIT.usage);
  }
}

/** SIGHUP: loads the configuration again; an invalid one is refused and the old one stays. */
function reload(args: ParsedArgs, daemon: Daemon, log: Logger): void {
  let loaded: Loaded;
  try {
    loaded = loadConfig({ env: process.env, configFile: args.configFile, overrides: args.overrides, purpose: 'run' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ code: err.code, problems: err.problems }, 'new configuration refused; the running one stays in force');
    return;
  }
  for (const w of loaded.warnings) log.warn(w);
  daemon.reload(loaded.config);
}

function checkConfig(args: ParsedArgs): void {
  const { config, warnings } = load(args, 'run');
  for (const w of [...warnings, ...secretFileWarnings(config, process.env)]) process.stderr.write(`nbwss-bridge: warning: ${w}\n`);
  process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
}

async function replay(args: ParsedArgs): Promise<void> {
  if (args.operands.length === 0) fail('replay needs at least one FILE');
  const { config, warnings } = load(args, 'rest');
  const log = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level, destination: process.stderr });
  for (const w of warnings) log.warn(w);
  const code = await replayFiles(config, args.operands, {
    log,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`nbwss-bridge: ${line}\n`),
  });
  process.exitCode = code;
}

async function demo(args: ParsedArgs): Promise<void> {
  const { runDemo } = await import('../demo/demo.js');
  process.exitCode = await runDemo({
    keepRunning: args.keepRunning,
    overrides: args.overrides,
    out: (line) => process.stdout.write(`${line}\n`),
  });
}

export async function main(argv: readonly string[]): Promise<void> {
  let args: ParsedArgs;
  try {
    args = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}; see nbwss-bridge --help`);
    throw err;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (args.help || args.command === null) {
    process.stdout.write(`${helpText()}\n`);
    if (!args.help) process.exitCode = EXIT.usage;
    return;
  }
  if (args.command !== 'replay' && args.operands.length > 0) fail(`${args.command} takes no operands: ${args.operands.join(' ')}`);
  switch (args.command) {
    case 'run':
      return run(args);
    case 'check-config':
      return checkConfig(args);
    case 'replay':
      return replay(args);
    case 'demo':
      return demo(args);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`nbwss-bridge: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT.failure);
});
