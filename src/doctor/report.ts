// What doctor says: one result per check, ok / warn / fail / skip, with the fix for anything
// not ok. The check names key the README's troubleshooting section.

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** The check: config, secret-files, state-dir, systemd, cloud-dns, cloud-proxy, cloud-tcp, cloud-tls, cloud-connect, clock, rest-tls, rest-ping, backend-login. */
  check: string;
  /** What it was run against (an endpoint, a backend, a file), if not the whole bridge. */
  target?: string;
  status: Status;
  /** One line: what was found. */
  summary: string;
  /** One line: what to do (not for ok). */
  fix?: string;
}

export const ok = (check: string, summary: string, target?: string): CheckResult => ({ check, status: 'ok', summary, ...(target ? { target } : {}) });
export const warn = (check: string, summary: string, fix: string, target?: string): CheckResult => ({ check, status: 'warn', summary, fix, ...(target ? { target } : {}) });
export const fail = (check: string, summary: string, fix: string, target?: string): CheckResult => ({ check, status: 'fail', summary, fix, ...(target ? { target } : {}) });
export const skip = (check: string, summary: string, target?: string): CheckResult => ({ check, status: 'skip', summary, ...(target ? { target } : {}) });

/** The results as lines for a terminal: status, check, target, what was found, and the fix on the next line. */
export function formatLines(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.status.padEnd(4)}  ${r.check.padEnd(13)} ${r.target ? `${r.target}: ` : ''}${r.summary}`);
    if (r.fix && r.status !== 'ok') lines.push(`${' '.repeat(20)}fix: ${r.fix}`);
  }
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  lines.push('', `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skipped`);
  return `${lines.join('\n')}\n`;
}

/** Exit code: 1 when a check failed. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
