// Coverage of the whole suite, the daemon and CLI processes the tests start included: the v8
// provider's map of what ran in the test workers, plus, for the same source lines, what ran in
// child processes. Tests start children with NODE_V8_COVERAGE pointing at CHILD_COVERAGE_DIR
// (see childEnv in cli-env.ts); their coverage is of dist/*.js, converted as the provider converts
// its own (ast-v8-to-istanbul) through the build's source maps back to src/*.ts, and projected
// onto the workers' map: a statement the workers did not run counts as run when a child ran one
// starting at the same place or on the same line, a function when a child ran one declared on
// its line, a branch arm when a child ran the same arm of a branch starting at the same place.
// Thresholds in vitest.config.ts apply to the sum.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from '@vitest/coverage-v8';
import astV8ToIstanbul from 'ast-v8-to-istanbul';
import { parseAstAsync } from 'vitest/node';
import { CHILD_COVERAGE_DIR } from './cli-env.js';

interface Pos { line: number; column: number | null }
interface Loc { start: Pos }
interface FileData {
  statementMap: Record<string, Loc>;
  s: Record<string, number>;
  fnMap: Record<string, { decl: Loc; loc: Loc }>;
  f: Record<string, number>;
  branchMap: Record<string, { loc: Loc; locations: Loc[] }>;
  b: Record<string, number[]>;
}
interface CoverageMap {
  files(): string[];
  fileCoverageFor(file: string): { data: FileData };
}

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const at = (p: Pos) => `${p.line}:${p.column}`;

/** What ran in the children, by source file: statements by where they start (and their lines), functions by the line they are declared on, branch arms by their branch's start and index. */
interface Runs {
  statements: Set<string>;
  lines: Set<number>;
  functions: Set<number>;
  arms: Set<string>;
}

async function childRuns(): Promise<Map<string, Runs>> {
  const out = new Map<string, Runs>();
  let names: string[] = [];
  try {
    names = readdirSync(CHILD_COVERAGE_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return out;
  }
  const parsed = new Map<string, { code: string; map: unknown; ast: unknown }>();
  for (const name of names) {
    const raw = JSON.parse(readFileSync(join(CHILD_COVERAGE_DIR, name), 'utf8')) as { result: { url: string; functions: never[] }[] };
    for (const script of raw.result) {
      if (!script.url.startsWith('file://')) continue;
      const path = fileURLToPath(script.url);
      if (!path.startsWith(dist) || !path.endsWith('.js')) continue;
      let js = parsed.get(path);
      if (!js) {
        const code = readFileSync(path, 'utf8');
        js = { code, map: JSON.parse(readFileSync(`${path}.map`, 'utf8')), ast: await parseAstAsync(code) };
        parsed.set(path, js);
      }
      const data = (await astV8ToIstanbul({ code: js.code, sourceMap: js.map as never, ast: js.ast as never, coverage: { url: script.url, functions: script.functions } })) as unknown as Record<string, FileData>;
      for (const [file, d] of Object.entries(data)) {
        const key = file.startsWith('file://') ? fileURLToPath(file) : file;
        let run = out.get(key);
        if (!run) out.set(key, (run = { statements: new Set(), lines: new Set(), functions: new Set(), arms: new Set() }));
        for (const [k, loc] of Object.entries(d.statementMap)) {
          if ((d.s[k] ?? 0) === 0) continue;
          run.statements.add(at(loc.start));
          run.lines.add(loc.start.line);
        }
        for (const [k, fn] of Object.entries(d.fnMap)) if ((d.f[k] ?? 0) > 0) run.functions.add(fn.decl.start.line);
        for (const [k, br] of Object.entries(d.branchMap)) {
          br.locations.forEach((_, i) => {
            if ((d.b[k]?.[i] ?? 0) > 0) run.arms.add(`${at(br.loc.start)}#${i}`);
          });
        }
      }
    }
  }
  return out;
}

/** Counts what the children ran in the workers' map (once: a count of 1 where the workers had none). */
function project(map: CoverageMap, runs: Map<string, Runs>): void {
  for (const file of map.files()) {
    const run = runs.get(file);
    if (!run) continue;
    const d = map.fileCoverageFor(file).data;
    for (const [k, loc] of Object.entries(d.statementMap)) if (d.s[k] === 0 && (run.statements.has(at(loc.start)) || run.lines.has(loc.start.line))) d.s[k] = 1;
    for (const [k, fn] of Object.entries(d.fnMap)) if (d.f[k] === 0 && run.functions.has(fn.decl.start.line)) d.f[k] = 1;
    for (const [k, br] of Object.entries(d.branchMap)) {
      const hits = d.b[k];
      if (!hits) continue;
      hits.forEach((n, i) => {
        if (n === 0 && run.arms.has(`${at(br.loc.start)}#${i}`)) hits[i] = 1;
      });
    }
  }
}

export default {
  ...v8,
  async getProvider() {
    const provider = await v8.getProvider();
    const generate = provider.generateCoverage.bind(provider);
    provider.generateCoverage = async (ctx: Parameters<typeof generate>[0]) => {
      const map = (await generate(ctx)) as unknown as CoverageMap;
      project(map, await childRuns());
      return map as never;
    };
    return provider;
  },
};
