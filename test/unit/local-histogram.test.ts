/** src/adapters/metrics/local-histogram.ts renders exactly what prom-client's own Histogram renders. */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LocalHistogram } from '../../src/adapters/metrics/local-histogram.js';

function pair() {
  const [theirs, ours] = [new Registry(), new Registry()];
  for (const r of [theirs, ours]) r.setDefaultLabels({ instance: 'i1' });
  const labelled = {
    theirs: new Histogram({ name: 'h_seconds', help: 'labelled', labelNames: ['kind', 'outcome'], buckets: [0.001, 0.01, 0.1], registers: [theirs] }),
    ours: new LocalHistogram('h_seconds', 'labelled', [0.001, 0.01, 0.1], true),
  };
  const plain = {
    theirs: new Histogram({ name: 'p_seconds', help: 'plain', buckets: [0.5, 1], registers: [theirs] }),
    ours: new LocalHistogram('p_seconds', 'plain', [1, 0.5], false),
  };
  ours.registerMetric(labelled.ours as never);
  ours.registerMetric(plain.ours as never);
  return { theirs, ours, labelled, plain };
}

describe('LocalHistogram', () => {
  it('renders the same exposition text as prom-client, empty and after observations at and between bounds', async () => {
    const { theirs, ours, labelled, plain } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const v of [0.0005, 0.001, 0.005, 0.05, 0.5, 3]) {
      labelled.theirs.observe({ kind: 'query', outcome: 'ok' }, v);
      labelled.ours.observe(v, { kind: 'query', outcome: 'ok' });
    }
    labelled.theirs.observe({ kind: 'transaction', outcome: 'error' }, 0.02);
    labelled.ours.observe(0.02, { kind: 'transaction', outcome: 'error' });
    plain.theirs.observe(0.7);
    plain.ours.observe(0.7);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('h_seconds_bucket{le="0.001",instance="i1",kind="query",outcome="ok"} 2');
    expect(text).toContain('p_seconds_count{instance="i1"} 1');
  });

  it('refuses a value that is not a finite number', () => {
    expect(() => new LocalHistogram('x_seconds', 'x', [1], false).observe(Number.NaN)).toThrow(TypeError);
  });
});
