// The nbwss-bridge command: the only place that reads process.env and argv and calls process.exit.
import { readFileSync } from 'node:fs';
import { loadConfig, redactedConfig, type Config, type Loaded, type LoadOptions } from '../config/load.js';
import { secretFiles, secretFileWarnings } from '../config/secrets.js';
import { DEFAULT_CONFIG_FILE, EXIT, VERSION } from '../constants.js';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../lifecycle/logger.js';
import { Daemon } from '../lifecycle/daemon.js';
import { installSignalHandlers } from '../lifecycle/signals.js';
import { helpText, parseCli, usageText, UsageError, type ParsedArgs } from './args.js';

const fail = (line: string): never => {
  process.stderr.write(`nbwss-bridge: ${line}\n`);
  process.exit(EXIT.usage);
};

function loadOptions(args: ParsedArgs, purpose: LoadOptions['purpose']): LoadOptions {
  return { env: process.env, configFile: args.configFile, overrides: args.overrides, purpose, defaultFile: DEFAULT_CONFIG_FILE };
}

function load(args: ParsedArgs, purpose: LoadOptions['purpose']): Loaded {
  try {
    return loadConfig(loadOptions(args, purpose));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`nbwss-bridge: configuration error: ${p}\n`);
    process.exit(EXIT.usage);
  }
}

/** The root logger: JSON lines, or human-readable ones (log.format pretty, or auto on a terminal). */
async function rootLogger(config: Config, toStderr = false): Promise<Logger> {
  const level = config.log.level;
  const out = toStderr ? process.stderr : process.stdout;
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && out.isTTY === true);
  if (!pretty) return createLogger({ level, ...(toStderr ? { destination: process.stderr } : {}) });
  const { default: prettyStream } = await import('pino-pretty');
  return createLogger({ level, destination: prettyStream({ colorize: out.isTTY === true, sync: true, destination: toStderr ? 2 : 1, ignore: 'pid,hostname,name' }) });
}

async function run(args: ParsedArgs): Promise<void> {
  const { config, warnings } = load(args, 'run');
  const root = await rootLogger(config);
  const log = root.child({ mod: 'cli' });
  for (const w of warnings) log.warn(w);
  let daemon: Daemon | null = null;
  try {
    daemon = await Daemon.open(config, root);
    const d = daemon;
    installSignalHandlers(root.child({ mod: 'signals' }), {
      stop: () => d.stop(),
      reload: () => reload(args, d, log),
      exit: (code) => {
        root.flush();
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
    loaded = loadConfig(loadOptions(args, 'run'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ code: err.code, problems: err.problems }, 'new configuration refused; the running one stays in force');
    return;
  }
  for (const w of loaded.warnings) log.warn(w);
  daemon.reload(loaded.config);
  const copies = secretFiles(loaded.config, process.env).filter((f) => f.credential !== null).map((f) => f.key);
  if (copies.length) log.info({ credentials: copies }, 'these secrets are systemd\'s copies, refreshed only by a restart: nbwss-bridge service rotate-token restarts for you');
}

function checkConfig(args: ParsedArgs): void {
  const { config, warnings } = load(args, 'run');
  const say = (line: string) => process.stderr.write(`nbwss-bridge: ${line}\n`);
  say(`configuration: ${config.configFile ?? 'no file (defaults, environment and flags)'}`);
  for (const f of secretFiles(config, process.env)) {
    say(`secret ${f.key}: ${f.file}${f.credential ? ` (systemd credential "${f.credential}" of ${f.path})` : ''}`);
  }
  for (const w of [...warnings, ...secretFileWarnings(config, process.env)]) say(`warning: ${w}`);
  process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
}

async function replay(args: ParsedArgs): Promise<void> {
  if (args.operands.length === 0) fail('replay needs at least one FILE (or - for standard input)');
  const { config, warnings } = load(args, 'rest');
  const log = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level, destination: process.stderr }).child({ mod: 'replay' });
  for (const w of warnings) log.warn(w);
  const { replayFiles } = await import('./replay.js');
  const code = await replayFiles(config, args.operands, {
    log,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`nbwss-bridge: ${line}\n`),
    read: (file) => readFileSync(file === '-' ? 0 : file, 'utf8'),
  });
  process.exitCode = code;
}

async function doctor(args: ParsedArgs): Promise<void> {
  const { doctorCli } = await import('./doctor.js');
  process.exitCode = await doctorCli(loadOptions(args, 'run'), { json: args.json, out: (s) => process.stdout.write(s) });
}

async function service(args: ParsedArgs): Promise<void> {
  const { serviceCli } = await import('./service.js');
  process.exitCode = await serviceCli(args, {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    stdin: process.stdin,
    env: process.env,
    isRoot: process.getuid?.() === 0,
  });
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
  if (argv[0] === 'hub') {
    const { hubCli } = await import('./hub.js');
    const code = await hubCli(argv.slice(1), { env: process.env, err: (l) => process.stderr.write(`nbwss-bridge ${l}\n`), out: (t) => process.stdout.write(t), exit: (c) => process.exit(c) });
    if (code !== null) process.exit(code); // a hub that did not start may hold connections still trying: end them
    return;
  }
  let args: ParsedArgs;
  try {
    args = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}; see nbwss-bridge --help`);
    throw err;
  }
  if (args.version) {
    process.stdout.write(`nbwss-bridge ${VERSION} (Node.js ${process.version})\n`);
    return;
  }
  if (args.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (args.command === null) {
    process.stderr.write(`${usageText()}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  const takesOperands = args.command === 'replay' || args.command === 'service';
  if (!takesOperands && args.operands.length > 0) fail(`${args.command} takes no operands: ${args.operands.join(' ').slice(0, 80)}`);
  switch (args.command) {
    case 'run':
      return run(args);
    case 'check-config':
      return checkConfig(args);
    case 'doctor':
      return doctor(args);
    case 'service':
      return service(args);
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
