/**
 * Top functions by self time in a V8 .cpuprofile (from `--node-args "--cpu-prof --cpu-prof-dir=DIR"`), and the
 * same grouped by file (bench/flamegraph.ts draws the same profile as a flame graph).
 *
 *   npx tsx bench/profile-summary.ts bench-results/prof/CPU.*.cpuprofile [--top 25] [--last S]
 *
 * `--last S` keeps only the samples of the profile's last S seconds (e.g. the final open-loop phase of a run).
 */
import { parseArgs } from 'node:util';
import { frameName, readProfile, selfTimes, shortUrl } from './cpuprofile.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, last: { type: 'string' } } });
for (const file of positionals) {
  const p = readProfile(file);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfTimes(p, values.last === undefined ? undefined : Number(values.last));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const where = shortUrl(node.callFrame.url);
    const key = frameName(node);
    fn.set(key, (fn.get(key) ?? 0) + us);
    const group = where.startsWith('node_modules/') ? where.split('/').slice(0, where.startsWith('node_modules/@') ? 3 : 2).join('/') : where || node.callFrame.functionName;
    files.set(group, (files.get(group) ?? 0) + us);
  }
  const show = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)).map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by function:\n${show(fn)}\n\nself time by file / package:\n${show(files)}\n`);
}
