// The units shipped in systemd/ (and in the packages): what they run, that they are what
// `service install` writes, and how systemd rates and verifies them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderHubUnit, renderUnit, SHIPPED } from '../../src/service/unit.js';

const dir = fileURLToPath(new URL('../../systemd/', import.meta.url));
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function analyze(args: string[]): string {
  try {
    return execFileSync('systemd-analyze', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

describe('systemd/', () => {
  it('holds exactly the units service install writes for /usr/bin/nbwss-bridge (regenerate them from src/service/unit.ts)', () => {
    for (const [name, opts] of Object.entries(SHIPPED)) expect(read(name), name).toBe(renderUnit(opts));
    expect(read('nbwss-bridge-hub.service')).toBe(renderHubUnit(['/usr/bin/nbwss-bridge']));
  });

  it('runs the hub with its config in /etc, as a dynamic user, its tokens in its state directory and its API key a credential', () => {
    const unit = read('nbwss-bridge-hub.service');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/nbwss-bridge hub --config \/etc\/nbwss-bridge\/hub\.json$/m);
    expect(unit).toMatch(/^DynamicUser=yes$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(unit).toMatch(/^LoadCredential=hub-api-key:\/etc\/nbwss-bridge\/hub-api-key$/m);
    expect(unit).toMatch(/^Environment=NBWSS_HUB_TOKENS=\$\{STATE_DIRECTORY\}\/tokens\.json$/m);
    for (const line of read('nbwss-bridge.service').split('\n').filter((l) => /^(Protect|Private|Restrict|SystemCall|Capability|NoNewPrivileges|UMask)/.test(l))) expect(unit).toContain(line);
  });

  it('runs the daemon with the config in /etc, as its own user, restarting on failure but not on a bad configuration', () => {
    for (const name of Object.keys(SHIPPED)) {
      const unit = read(name);
      expect(unit).toMatch(/^ExecStart=\/usr\/bin\/nbwss-bridge run --config \/etc\/nbwss-bridge\/config\.json$/m);
      expect(unit).toMatch(/^User=nbwss-bridge$/m);
      expect(unit).toMatch(/^Restart=on-failure$/m);
      expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
      expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
      expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
    }
    expect(read('nbwss-bridge.service')).toMatch(/^LoadCredential=etc_nbwss-bridge_token.83d854cb:\/etc\/nbwss-bridge\/token$/m);
    expect(read('nbwss-bridge-v239.service')).not.toMatch(/^LoadCredential=/m);
  });

  const hasAnalyze = onPath('systemd-analyze');
  if (!hasAnalyze) console.log('skipped: systemd-analyze is not on the PATH');
  it.skipIf(!hasAnalyze)('are rated 1.5 or lower (the 239 variant, without the newer directives, 1.7) and pass systemd-analyze verify', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'nbwss-units-'));
    for (const [name, limit] of [['nbwss-bridge.service', 1.5], ['nbwss-bridge-v239.service', 1.7], ['nbwss-bridge-hub.service', 1.5]] as const) {
      const m = /Overall exposure level for .*: (\d+\.\d+)/.exec(analyze(['security', '--offline=true', join(dir, name)]));
      expect(m, name).not.toBeNull();
      expect(Number(m?.[1]), name).toBeLessThanOrEqual(limit);
      // verify needs the executable to exist: the same unit, run by this Node.js.
      const copy = join(scratch, name);
      writeFileSync(copy, read(name).replace('ExecStart=/usr/bin/nbwss-bridge', `ExecStart=${process.execPath}`));
      expect(analyze(['verify', copy]).trim(), name).toBe('');
    }
  });
});
