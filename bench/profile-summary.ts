/**
 * Top functions by self time in a V8 .cpuprofile (from `--node-args "--cpu-prof --cpu-prof-dir=DIR"`), and the
 * same grouped by file — a text flame-graph substitute for reports.
 *
 *   npx tsx bench/profile-summary.ts bench-results/prof/CPU.*.cpuprofile [--top 25] [--last S]
 *
 * `--last S` keeps only the samples of the profile's last S seconds (e.g. the final open-loop phase of a run).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, last: { type: 'string' } } });
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // Sample i was taken at the sum of timeDeltas[0..i]; keep those within the last `--last` seconds.
  const at = p.timeDeltas.reduce<number[]>((acc, d) => (acc.push((acc.at(-1) ?? 0) + d), acc), []);
  const from = values.last === undefined ? -Infinity : (at.at(-1) ?? 0) - Number(values.last) * 1e6;
  p.samples.forEach((id, i) => {
    if ((at[i] ?? 0) >= from) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const where = f.url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '').replace(/.*node_modules\//, 'node_modules/');
    const key = `${f.functionName || '(anonymous)'}  ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const group = where.startsWith('node_modules/') ? where.split('/').slice(0, where.startsWith('node_modules/@') ? 3 : 2).join('/') : where || f.functionName;
    files.set(group, (files.get(group) ?? 0) + us);
  }
  const show = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)).map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by function:\n${show(fn)}\n\nself time by file / package:\n${show(files)}\n`);
}
