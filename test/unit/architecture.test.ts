import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('architecture', () => {
  it('src/core and src/protocol do no I/O: no Node, framework, driver or env imports', () => {
    for (const file of [...files('src/core'), ...files('src/protocol')]) {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      for (const spec of imports) {
        const allowed = spec.startsWith('.') || spec === 'typebox' || spec.startsWith('typebox/');
        expect(allowed, `${file} imports ${spec}`).toBe(true);
      }
      expect(text.includes('process.env'), `${file} reads process.env`).toBe(false);
    }
  });

  it('only src/config.ts reads the environment', () => {
    const readers = files('src').filter((f) => readFileSync(f, 'utf8').includes('process.env'));
    expect(readers).toEqual([join('src', 'config.ts')]);
  });

  it('keeps files small (under 320 lines)', () => {
    for (const file of files('src')) {
      expect(readFileSync(file, 'utf8').split('\n').length, file).toBeLessThan(320);
    }
  });
});
