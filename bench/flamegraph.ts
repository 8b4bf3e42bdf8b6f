/**
 * A flame graph (self-contained SVG, no script) from a V8 `.cpuprofile`: each box is a function in its call path,
 * as wide as the time spent in it and below it; the root is at the bottom. Idle time is left out, so the full width
 * is the busy time. Hover a box for its name, source and time.
 *
 *   npx tsx bench/flamegraph.ts bench-results/prof/CPU.*.cpuprofile [--last S] [--out FILE.svg] [--width 1200]
 *
 * Without --out each profile's SVG is written next to it (FILE.cpuprofile -> FILE.svg).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { frameName, readProfile, selfTimes, shortUrl, type CpuProfile, type ProfileNode } from './cpuprofile.js';

const ROW = 16;
const MIN_BOX_PX = 0.5;

interface Box {
  node: ProfileNode;
  depth: number;
  x: number;
  us: number;
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** natter's code warm, its dependencies yellow, Node's internals blue, V8 and GC grey. */
function colour(node: ProfileNode): string {
  const url = shortUrl(node.callFrame.url);
  let hash = 0;
  for (const c of node.callFrame.functionName) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const shade = hash % 40;
  if (url.startsWith('src/') || url.startsWith('bench/')) return `hsl(${15 + (shade % 25)}, 85%, ${55 + (shade % 10)}%)`;
  if (url.startsWith('node_modules/')) return `hsl(${45 + (shade % 15)}, 80%, ${55 + (shade % 10)}%)`;
  if (url.startsWith('node:')) return `hsl(${200 + (shade % 25)}, 60%, ${65 + (shade % 10)}%)`;
  return `hsl(0, 0%, ${65 + (shade % 15)}%)`;
}

export function flameGraphSvg(profile: CpuProfile, options: { lastSeconds?: number; width?: number; title?: string } = {}): string {
  const width = options.width ?? 1200;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTimes(profile, options.lastSeconds);
  for (const node of profile.nodes) if (node.callFrame.functionName === '(idle)') self.delete(node.id);
  const total = new Map<number, number>();
  const sum = (node: ProfileNode): number => {
    const us = (self.get(node.id) ?? 0) + (node.children ?? []).reduce((n, id) => n + sum(byId.get(id)!), 0);
    total.set(node.id, us);
    return us;
  };
  const root = profile.nodes[0]!;
  const busy = sum(root);
  const scale = busy > 0 ? width / busy : 0;
  const boxes: Box[] = [];
  const place = (node: ProfileNode, depth: number, x: number) => {
    const us = total.get(node.id) ?? 0;
    if (us * scale < MIN_BOX_PX) return;
    boxes.push({ node, depth, x, us });
    let childX = x;
    for (const id of [...(node.children ?? [])].sort((a, b) => frameName(byId.get(a)!).localeCompare(frameName(byId.get(b)!)))) {
      place(byId.get(id)!, depth + 1, childX);
      childX += (total.get(id) ?? 0) * scale;
    }
  };
  place(root, 0, 0);
  const depth = Math.max(0, ...boxes.map((b) => b.depth)) + 1;
  const top = 40;
  const height = top + depth * ROW + 10;
  const rects = boxes.map(({ node, depth: d, x, us }) => {
    const w = us * scale;
    const y = height - 10 - (d + 1) * ROW;
    const name = node === root ? 'all (busy time)' : frameName(node);
    const label = w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="${y + 11.5}" clip-path="url(#c${node.id})">${escape(name)}</text>` : '';
    return (
      `<g><title>${escape(name)} — ${(us / 1000).toFixed(1)} ms, ${((us / busy) * 100).toFixed(1)}%</title>` +
      `<clipPath id="c${node.id}"><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0, w - 4).toFixed(1)}" height="${ROW}"/></clipPath>` +
      `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.1, w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${colour(node)}"/>${label}</g>`
    );
  });
  const heading = `${options.title ?? 'flame graph'} — ${(busy / 1e6).toFixed(2)} s busy${options.lastSeconds === undefined ? '' : ` in the last ${options.lastSeconds} s`}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf6"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(heading)}</text>`,
    `<text x="${width / 2}" y="34" text-anchor="middle" fill="#666">orange: natter · yellow: dependencies · blue: Node internals · grey: native, GC, program</text>`,
    ...rects,
    '</svg>',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { last: { type: 'string' }, out: { type: 'string' }, width: { type: 'string', default: '1200' } },
  });
  if (values.out && positionals.length !== 1) throw new Error('--out takes one profile');
  for (const file of positionals) {
    const out = values.out ?? file.replace(/\.cpuprofile$/, '') + '.svg';
    const title = file.split('/').pop()!;
    writeFileSync(out, flameGraphSvg(readProfile(file), { lastSeconds: values.last === undefined ? undefined : Number(values.last), width: Number(values.width), title }));
    console.log(out);
  }
}
