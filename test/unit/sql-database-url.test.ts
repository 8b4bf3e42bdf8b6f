import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/adapters/sql/sql-database.js';

describe('parseDatabaseUrl', () => {
  it.each([
    ['sqlite:./data/natter.db', { dialect: 'sqlite', filename: './data/natter.db' }],
    ['sqlite:/var/lib/natter/natter.db', { dialect: 'sqlite', filename: '/var/lib/natter/natter.db' }],
    ['sqlite:///var/lib/natter.db', { dialect: 'sqlite', filename: '/var/lib/natter.db' }],
    ['sqlite::memory:', { dialect: 'sqlite', filename: ':memory:' }],
    ['postgres://u:p@db:5432/natter', { dialect: 'postgres', url: 'postgres://u:p@db:5432/natter' }],
    ['postgresql://db/natter?sslmode=require', { dialect: 'postgres', url: 'postgresql://db/natter?sslmode=require' }],
  ])('reads %s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it.each(['', 'sqlite:', 'mysql://u:secret@db/natter', 'postgres:/nohost', './natter.db'])(
    'refuses %j without repeating it',
    (url) => {
      expect(() => parseDatabaseUrl(url)).toThrow(/expected sqlite:<path>/);
      try {
        parseDatabaseUrl(url);
      } catch (error) {
        expect((error as Error).message).not.toContain('secret');
      }
    },
  );
});
