// `nbwss-bridge service install | uninstall | rotate-token`: the command line's side (standard
// input, the terminal, systemctl) of src/service/.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EXIT } from '../constants.js';
import { install, InstallError, type ServiceIo } from '../service/install.js';
import { rotateToken, uninstall } from '../service/manage.js';
import { run, selfCommand, systemdVersion } from '../service/system.js';
import type { ParsedArgs } from './args.js';

export interface ServiceCliIo {
  out(text: string): void;
  err(text: string): void;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
}

const SUBCOMMANDS = ['install', 'uninstall', 'rotate-token'];

/** Reads standard input: a line typed at the terminal (not echoed), or everything piped in. */
async function readSecret(stdin: NodeJS.ReadStream, prompt: (s: string) => void): Promise<string> {
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  prompt('Endpoint token (from the cloud application; not shown): ');
  stdin.setRawMode(true);
  stdin.resume();
  let text = '';
  try {
    for await (const c of stdin) {
      const s = (c as Buffer).toString('utf8');
      if (s === '\u0003') throw new InstallError('interrupted');
      const end = s.search(/[\r\n]/);
      text += end === -1 ? s : s.slice(0, end);
      if (end !== -1) break;
    }
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    prompt('\n');
  }
  return text.trim();
}

function ask(stdin: NodeJS.ReadStream, prompt: (s: string) => void, question: string): Promise<string | null> {
  if (!stdin.isTTY) return Promise.resolve(null);
  return new Promise((done) => {
    const rl = createInterface({ input: stdin, output: process.stderr });
    rl.question(question, (answer) => {
      rl.close();
      done(answer);
    });
  });
}

export async function serviceCli(args: ParsedArgs, io: ServiceCliIo): Promise<number> {
  const sub = args.operands[0];
  const fail = (line: string, code: number = EXIT.usage) => {
    io.err(`nbwss-bridge: ${line}\n`);
    return code;
  };
  if (sub === undefined || !SUBCOMMANDS.includes(sub) || args.operands.length > 1) {
    return fail(`service takes one of ${SUBCOMMANDS.join(', ')}${sub && !SUBCOMMANDS.includes(sub) ? ` (not "${sub.slice(0, 40)}")` : ''}; see nbwss-bridge --help`);
  }
  const root = resolve(args.service.root ?? '/');
  const dryRun = args.service.dryRun;
  if (root === '/' && !dryRun && !io.isRoot) return fail(`service ${sub} changes /etc and systemd: run it as root (sudo), or see the plan with --dry-run`);
  const sio: ServiceIo = {
    out: (line) => io.out(`${line}\n`),
    readToken: () => readSecret(io.stdin, (s) => io.err(s)),
    ask: (q) => ask(io.stdin, (s) => io.err(s), q),
    exec: run,
  };
  try {
    if (sub === 'uninstall') await uninstall({ root, dryRun, purge: args.service.purge }, sio);
    else if (sub === 'rotate-token') await rotateToken({ root, dryRun }, sio);
    else {
      const given = args.service.systemdVersion;
      if (given !== undefined && !/^\d+$/.test(given)) return fail(`--systemd-version must be a number such as 239, not ${given.slice(0, 20)}`);
      const version = given !== undefined ? Number(given) : await systemdVersion();
      if (version === null && root === '/') return fail('systemctl --version gave no systemd version: this host does not run systemd (or pass --systemd-version N)');
      const exec = selfCommand();
      if (exec.some((p) => /^\/(home|root|run\/user)\//.test(p))) {
        io.err(`nbwss-bridge: warning: the service would run ${exec.join(' ')}, which the unit cannot reach (ProtectHome=yes); install from the package or npm install --global ./nbwss-bridge-<version>.tgz\n`);
      }
      await install({ root, dryRun, overrides: args.overrides, caFingerprint: args.service.caFingerprint, variant: args.service.unitVariant, systemdVersion: version, exec }, sio);
      if (root === '/' && !dryRun) {
        io.out('\nnbwss-bridge doctor:\n');
        const { doctorCli } = await import('./doctor.js');
        await doctorCli({ env: {}, configFile: '/etc/nbwss-bridge/config.json', purpose: 'run' }, { json: false, out: io.out });
      }
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof InstallError) return fail(err.message);
    throw err;
  }
}
