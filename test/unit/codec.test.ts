import { describe, expect, it } from 'vitest';
import { decodeCommand } from '../../src/protocol/codec.js';

describe('decodeCommand', () => {
  it('decodes every command type', () => {
    const frames = [
      { type: 'auth', token: 't' },
      { type: 'room.join', id: '1', room: 'r' },
      { type: 'room.join', id: '1', room: 'r', since: 0 },
      { type: 'room.leave', id: '1', room: 'r' },
      { type: 'message.send', id: '1', room: 'r', body: 'hi', client_msg_id: 'abc-1:2.3_x' },
      { type: 'typing', id: '1', room: 'r' },
      { type: 'presence.list', id: '1', room: 'r' },
      { type: 'ping', id: '1' },
    ];
    for (const f of frames) expect(decodeCommand(JSON.stringify(f)), f.type).toEqual({ ok: true, command: f });
  });

  it.each([
    ['not json', '{', 'MALFORMED_FRAME', undefined],
    ['array', '[]', 'MALFORMED_FRAME', undefined],
    ['null', 'null', 'MALFORMED_FRAME', undefined],
    ['no type', '{"id":"7"}', 'MALFORMED_FRAME', '7'],
    ['unknown', '{"type":"x","id":"7"}', 'UNKNOWN_COMMAND', '7'],
    ['prototype key', '{"type":"constructor","id":"7"}', 'UNKNOWN_COMMAND', '7'],
    ['missing id', '{"type":"ping"}', 'VALIDATION_FAILED', undefined],
    ['bad since', '{"type":"room.join","id":"7","room":"r","since":-1}', 'VALIDATION_FAILED', '7'],
    ['float since', '{"type":"room.join","id":"7","room":"r","since":1.5}', 'VALIDATION_FAILED', '7'],
    ['extra field', '{"type":"ping","id":"7","x":1}', 'VALIDATION_FAILED', '7'],
    ['bad client_msg_id', '{"type":"message.send","id":"7","room":"r","body":"b","client_msg_id":"has space"}', 'VALIDATION_FAILED', '7'],
  ])('rejects %s', (_name, text, code, id) => {
    const result = decodeCommand(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.id).toBe(id);
      expect(result.message.length).toBeGreaterThan(0);
    }
  });
});
