// The shipped unit: what it runs, and how locked down systemd rates it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const unitPath = fileURLToPath(new URL('../../systemd/nbwss-bridge.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('systemd/nbwss-bridge.service', () => {
  it('runs the daemon with the config in /etc, as its own user, restarting on failure', () => {
    expect(unit).toMatch(/^ExecStart=.*nbwss-bridge run --config \/etc\/nbwss-bridge\/config\.json$/m);
    expect(unit).toMatch(/^DynamicUser=yes$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^LoadCredential=token:\/etc\/nbwss-bridge\/token$/m);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
  });

  const hasAnalyze = onPath('systemd-analyze');
  if (!hasAnalyze) console.log('skipped: systemd-analyze is not on the PATH');
  it.skipIf(!hasAnalyze)('is rated 1.5 or lower by systemd-analyze security', () => {
    let out: string;
    try {
      out = execFileSync('systemd-analyze', ['security', '--offline=true', unitPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      out = String((err as { stdout?: string }).stdout ?? '');
    }
    const m = /Overall exposure level for .*: (\d+\.\d+)/.exec(out);
    expect(m, out.slice(-500)).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(1.5);
  });
});
