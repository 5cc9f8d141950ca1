#!/usr/bin/env node
// Where the microseconds go: sums the self time of the CPU profiles `npm run bench -- --profile DIR`
// wrote for the bridge and the plain bridge, over the load's span only (startup left out), and
// divides by the requests each served. Printed by module and by function, side by side.
//
//   node bench/profile-summary.mjs DIR [--top 25]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const dir = positionals[0];
if (!dir) {
  process.stderr.write('usage: node bench/profile-summary.mjs DIR [--top N]\n');
  process.exit(2);
}
const TOP = Number(opt.top);
const served = JSON.parse(readFileSync(join(dir, 'served.json'), 'utf8'));

/** What a call frame is counted under: a package, a source module, a Node.js module, or the runtime itself. */
function moduleOf(cf) {
  if (cf.functionName === '(garbage collector)') return '(gc)';
  if (cf.functionName === '(program)' || cf.functionName === '(root)') return '(program)';
  const url = cf.url;
  if (url === '') return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const src = /\/dist\/(.+)\.js$/.exec(url);
  if (src) return `src/${src[1]}.ts`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\/.*\/bench\//, 'bench/');
}

function summarize(way) {
  const files = readdirSync(join(dir, way)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${join(dir, way)}`);
  const prof = JSON.parse(readFileSync(join(dir, way, files[0]), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const byFn = new Map();
  const byMod = new Map();
  let t = prof.startTime;
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < served.span.from || t > served.span.to) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    const cf = byId.get(prof.samples[i]).callFrame;
    if (cf.functionName === '(idle)') continue;
    busy += dt;
    const mod = moduleOf(cf);
    const fn = `${cf.functionName || '(anonymous)'} ${mod}${cf.lineNumber >= 0 && !mod.startsWith('(') ? `:${cf.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
    byMod.set(mod, (byMod.get(mod) ?? 0) + dt);
  }
  return { busy, byFn, byMod, requests: served[way] };
}

const ways = ['bridged', 'plain'].map((w) => ({ way: w, ...summarize(w) }));
const perReq = (us, n) => (us / n).toFixed(1).padStart(7);
for (const w of ways) {
  console.log(`\n## ${w.way}: ${w.requests} requests, main thread busy ${(w.busy / 1000).toFixed(0)} ms, ${(w.busy / w.requests).toFixed(1)} µs per request\n`);
  for (const [title, map, n] of [['module', w.byMod, TOP], ['function (self time)', w.byFn, TOP]]) {
    console.log(`| µs/req | share | ${title} |\n| ---: | ---: | --- |`);
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`| ${perReq(us, w.requests)} | ${((100 * us) / w.busy).toFixed(1).padStart(5)} % | ${k} |`);
    }
    console.log('');
  }
}
