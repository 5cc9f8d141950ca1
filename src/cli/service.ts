// `nbwss-bridge service install | uninstall | rotate-token`: the command line's side (standard
// input, the terminal, systemctl) of src/service/.
import { resolve } from 'node:path';
import { EXIT } from '../constants.js';
import { install, InstallError, type ServiceIo } from '../service/install.js';
import { rotateToken, uninstall } from '../service/manage.js';
import { checkRoot, run, selfCommand, systemdVersion } from '../service/system.js';
import type { ParsedArgs } from './args.js';
import { ask, readSecret } from './terminal.js';

export interface ServiceCliIo {
  out(text: string): void;
  err(text: string): void;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
}

const SUBCOMMANDS = ['install', 'uninstall', 'rotate-token'];

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
  try {
    checkRoot(root, process.getuid?.() ?? 0);
  } catch (err) {
    if (err instanceof InstallError) return fail(err.message);
    return fail(`--root ${root}: ${(err as NodeJS.ErrnoException).code ?? 'cannot be used'}`);
  }
  const sio: ServiceIo = {
    out: (line) => io.out(`${line}\n`),
    readToken: (prompt) => (!prompt && io.stdin.isTTY ? Promise.resolve('') : readSecret(io.stdin, (s) => io.err(s), 'Endpoint token (from the cloud application; not shown): ')),
    ask: (q) => ask(io.stdin, process.stderr, q),
    exec: run,
  };
  try {
    if (sub === 'uninstall') await uninstall({ root, dryRun, purge: args.service.purge }, sio);
    else if (sub === 'rotate-token') await rotateToken({ root, dryRun }, sio);
    else {
      const given = args.service.systemdVersion;
      if (given !== undefined && !/^\d+$/.test(given)) return fail(`--systemd-version must be a number such as 239, not ${given.slice(0, 20)}`);
      // Under --root the target's systemd is not this host's: it must be named.
      const version = given !== undefined ? Number(given) : root === '/' ? await systemdVersion() : null;
      if (version === null && root === '/' && args.service.unitVariant === undefined) return fail('systemctl --version gave no systemd version: this host does not run systemd (or pass --systemd-version N)');
      const sea = await import('node:sea').then((m) => m.isSea(), () => false);
      const exec = selfCommand(sea);
      // Only for this host: under --root the unit is for another filesystem, where doctor checks it.
      if (root === '/' && exec.some((p) => /^\/(home|root|run\/user|tmp|var\/tmp)\//.test(p))) {
        const said = `the service would run ${exec.join(' ')}, which the unit cannot reach (ProtectHome=, PrivateTmp=); install from the package or with npm install --global ./nbwss-bridge-<version>.tgz`;
        if (!dryRun) return fail(said);
        io.err(`nbwss-bridge: warning: ${said}\n`);
      }
      await install({ root, dryRun, overrides: args.overrides, caFingerprint: args.service.caFingerprint, variant: args.service.unitVariant, systemdVersion: version, exec }, sio);
      if (root === '/' && !dryRun) {
        io.out('\nnbwss-bridge doctor (the CONNECT is the service\'s own: see its log and /readyz):\n');
        const { doctorCli } = await import('./doctor.js');
        return await doctorCli({ env: {}, configFile: '/etc/nbwss-bridge/config.json', purpose: 'run' }, { json: false, out: io.out, connect: false });
      }
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof InstallError) return fail(err.message);
    throw err;
  }
}
