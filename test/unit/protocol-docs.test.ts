import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ERROR_CODES } from '../../src/protocol/errors.js';
import { COMMAND_SCHEMAS } from '../../src/protocol/frames.js';

const doc = readFileSync('docs/protocol.md', 'utf8');

describe('docs/protocol.md', () => {
  it.each(Object.keys(ERROR_CODES))('documents error code %s', (code) => {
    expect(doc).toMatch(new RegExp(`\`${code}\``));
  });
  it.each(Object.values(CLOSE_CODES).map((c) => c.code))('documents close code %i', (code) => {
    expect(doc).toMatch(new RegExp(`\\b${code}\\b`));
  });
  it.each(Object.keys(COMMAND_SCHEMAS))('documents command %s', (type) => {
    expect(doc).toMatch(new RegExp(`"type":\\s*"${type.replace('.', '\\.')}"`));
  });
  it.each(['hello', 'message', 'presence.joined', 'presence.left', 'typing', 'reply', 'error'])('documents server frame %s', (type) => {
    expect(doc).toMatch(new RegExp(`"type":\\s*"${type.replace('.', '\\.')}"`));
  });
});
