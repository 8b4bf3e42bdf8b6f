/** README and docs/operations.md stay complete: every configuration variable and every metric is documented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../src/core/metrics.js';

const configSource = readFileSync('src/config.ts', 'utf8');
const variables = [...new Set([...configSource.matchAll(/(?:env\.|\(')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
const readme = readFileSync('README.md', 'utf8');
const operations = readFileSync('docs/operations.md', 'utf8');

describe('configuration docs', () => {
  it('finds the variables config.ts reads', () => {
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'SHUTDOWN_TIMEOUT_MS', 'METRICS_TOKEN', 'LOG_FORMAT']));
  });
  it.each(variables)('README and docs/operations.md document %s', (name) => {
    expect(readme).toMatch(new RegExp(`\`${name}\``));
    expect(operations).toMatch(new RegExp(`\`${name}\``));
  });
});

describe('metrics docs', () => {
  it.each(Object.values(METRICS).map((m) => m.name))('docs/operations.md documents %s', (name) => {
    expect(operations).toContain(`\`${name}\``);
  });
});
