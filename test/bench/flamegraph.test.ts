/** bench/flamegraph.ts: box widths follow the time under each call path; idle time and narrow boxes are left out. */
import { describe, expect, it } from 'vitest';
import type { CpuProfile } from '../../bench/cpuprofile.js';
import { flameGraphSvg } from '../../bench/flamegraph.js';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
// (root) -> send (src) -> stringify (node_modules); (root) -> (idle); (root) -> tiny. 1 ms per sample.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
    { id: 2, callFrame: frame('send', `file://${process.cwd()}/src/core/chat.ts`), children: [3] },
    { id: 3, callFrame: frame('stringify', `file://${process.cwd()}/node_modules/fast/index.js`) },
    { id: 4, callFrame: frame('(idle)') },
    { id: 5, callFrame: frame('tiny', 'node:internal/tiny') },
  ],
  samples: [...Array(30).fill(2), ...Array(10).fill(3), ...Array(500).fill(4), 5],
  timeDeltas: Array(541).fill(1000),
};
const widthOf = (svg: string, name: string) => {
  const match = new RegExp(`<title>${name}[^<]*</title>.*?</clipPath><rect x="[^"]+" y="[^"]+" width="([^"]+)"`).exec(svg);
  return match ? Number(match[1]) : undefined;
};

describe('flameGraphSvg', () => {
  it('draws each call path as wide as its time, without idle time', () => {
    const svg = flameGraphSvg(profile, { width: 1000 });
    expect(svg).toMatch(/^<svg [^>]*width="1000"/);
    expect(svg).toContain('0.04 s busy');
    expect(widthOf(svg, 'all \\(busy time\\)')).toBeCloseTo(1000 - 0.5, 0);
    expect(widthOf(svg, 'send  src/core/chat.ts:1')).toBeCloseTo((40 / 41) * 1000 - 0.5, 0);
    expect(widthOf(svg, 'stringify  node_modules/fast/index.js:1')).toBeCloseTo((10 / 41) * 1000 - 0.5, 0);
    expect(svg).toContain('send  src/core/chat.ts:1 — 40.0 ms, 97.6%');
    expect(svg).not.toContain('(idle)');
  });

  it('leaves out boxes narrower than half a pixel and keeps only the last seconds when asked', () => {
    expect(flameGraphSvg(profile, { width: 10 })).not.toContain('tiny');
    const last = flameGraphSvg(profile, { width: 1000, lastSeconds: 0.0105 });
    expect(last).toContain('in the last 0.0105 s');
    expect(last).toContain('tiny');
    expect(last).not.toContain('send');
  });
});
