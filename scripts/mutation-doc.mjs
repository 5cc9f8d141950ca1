#!/usr/bin/env node
// Writes docs/mutation.md from Stryker's JSON report (reports/mutation/mutation.json): the score
// per folder, and every mutant not killed with the reason it survives where one is known
// (the rest are marked open). `npm run mutate` runs it after Stryker.
import { readFileSync, writeFileSync } from 'node:fs';

const [report = 'reports/mutation/mutation.json', out = 'docs/mutation.md'] = process.argv.slice(2);
const data = JSON.parse(readFileSync(report, 'utf8'));

/** Why a mutant survives, from what its line does; null when no reason is known. */
function reason(path, line, m) {
  if (/telemetry\.|dedupeHit|restDuration|bridgeError|\banswered\(/.test(line)) return 'telemetry label or value (asserted only where it is part of a promise)';
  if (m.mutatorName === 'StringLiteral' && /AnsweredError\(|loginFailed\(|Error\(|PollError\(|refuse\(|refuseUri\(|reason|why|message|`/.test(line)) {
    return 'wording of a message (the tests match its gist, not every word)';
  }
  if (/pathOf|logId|isLevelEnabled|#loggedAt|#episodes/.test(line)) return 'only shapes a log line';
  if (m.status === 'NoCoverage') {
    if (/notifications\/(nbapi|notifier|jobs)\.ts/.test(path)) return 'not reached by the mutation test set; covered by test/integration/notifications.test.ts (real HTTP and timers)';
    if (path.includes('journal.ts')) return 'not reached by the mutation test set; covered by the restart tests (kill -9 of the built daemon)';
    return 'not reached by the mutation test set; covered by integration tests outside it, or a defensive branch';
  }
  return null;
}

const counts = (c) => ({ killed: (c.Killed ?? 0) + (c.Timeout ?? 0), survived: c.Survived ?? 0, noCoverage: c.NoCoverage ?? 0, ignored: c.Ignored ?? 0 });
const score = (c) => {
  const { killed, survived, noCoverage } = counts(c);
  const valid = killed + survived + noCoverage;
  return valid ? ((100 * killed) / valid).toFixed(1) : '0.0';
};
const cell = (s) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

const perFolder = new Map();
const total = {};
const rows = new Map();
/** Mutants disabled in the code with a reason (`// Stryker disable … : reason`), by file and reason. */
const explained = new Map();
for (const [file, v] of Object.entries(data.files)) {
  const rel = file.slice(file.indexOf('src/'));
  const folder = rel.split('/').slice(1, -1).join('/');
  const src = v.source.split('\n');
  const c = perFolder.get(folder) ?? {};
  perFolder.set(folder, c);
  for (const m of v.mutants) {
    c[m.status] = (c[m.status] ?? 0) + 1;
    total[m.status] = (total[m.status] ?? 0) + 1;
    if (m.status === 'Ignored') {
      const why = (m.statusReason ?? '').replace(/^Ignored because of comment\s*/i, '').trim() || '(no reason given)';
      const byReason = explained.get(rel) ?? new Map();
      explained.set(rel, byReason);
      const e = byReason.get(why) ?? { n: 0, lines: new Set() };
      e.n++;
      e.lines.add(m.location.start.line);
      byReason.set(why, e);
      continue;
    }
    if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
    const line = m.location.start.line;
    const code = (src[line - 1] ?? '').trim();
    const list = rows.get(rel) ?? [];
    rows.set(rel, list);
    list.push({ line, status: m.status, mutator: m.mutatorName, replacement: (m.replacement ?? '').slice(0, 60), code: code.slice(0, 90), why: reason(rel, code, m) });
  }
}

const lines = [
  '# Mutation testing',
  '',
  '`npm run mutate` runs Stryker (its vitest runner) over `src/dedupe/`, `src/policy/`, `src/bridge/`, `src/log/`,',
  '`src/notifications/` and `src/backends/auth/`, with the tests in `vitest.mutate.config.ts`. Mutants in the text and',
  'fields of log lines, and static mutants (module-level constants, which every test runs), are not generated. This page',
  'is written from the report by `scripts/mutation-doc.mjs`.',
  '',
  '| folder | killed | survived | no coverage | ignored, with a reason | score |',
  '| --- | --- | --- | --- | --- | --- |',
];
for (const [folder, c] of [...perFolder].sort()) {
  const n = counts(c);
  lines.push(`| \`${folder}\` | ${n.killed} | ${n.survived} | ${n.noCoverage} | ${n.ignored} | ${score(c)} % |`);
}
const t = counts(total);
lines.push(`| all | ${t.killed} | ${t.survived} | ${t.noCoverage} | ${t.ignored} | ${score(total)} % |`, '');
lines.push(
  'The score counts killed mutants among those killed, survived and not covered. Ignored mutants are not run, each for a',
  'reason listed at the end of this page: static ones (module constants), the text and fields of log lines, and those',
  'disabled in the code with a `// Stryker disable next-line <mutator>: <reason>` comment: equivalent mutants (the code',
  'behaves the same either way: a fast path, a guard another check repeats, a bound that only saves memory) or ones that',
  'change only a timing no test can pin without waiting on the clock.',
  '',
);
const all = [...rows.values()].flat();
const known = all.filter((r) => r.why).length;
const openCount = all.length - known;
lines.push(
  `Of the ${all.length} mutants not killed, ${known} have a reason below (assigned from what their line does: a message, a telemetry value, a log line, code the mutation test set does not reach); ${openCount === 0 ? 'none is left open' : `the other ${openCount} are marked **open**: no test pins that behaviour down yet`}.`,
  '',
);
for (const [rel, list] of [...rows].sort()) {
  lines.push(`## \`${rel}\``, '', '| line | status | mutation | code | why it survives |', '| --- | --- | --- | --- | --- |');
  for (const r of list.sort((a, b) => a.line - b.line)) {
    lines.push(`| ${r.line} | ${r.status} | ${r.mutator} → \`${cell(r.replacement)}\` | \`${cell(r.code)}\` | ${r.why ?? '**open**'} |`);
  }
  lines.push('');
}
lines.push('## Ignored, with their reasons', '', '| file | lines | mutants | reason |', '| --- | --- | --- | --- |');
for (const [rel, byReason] of [...explained].sort()) {
  for (const [why, e] of byReason) lines.push(`| \`${rel}\` | ${[...e.lines].sort((a, b) => a - b).join(', ')} | ${e.n} | ${cell(why)} |`);
}
lines.push('');
writeFileSync(out, `${lines.join('\n')}\n`);
process.stdout.write(`wrote ${out}: score ${score(total)} %, ${all.length} not killed, ${known} explained, ${openCount} open\n`);
