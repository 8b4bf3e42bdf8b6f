/** Text frame -> typed command. Never throws: malformed input is expected and becomes a Result. */
import { Compile } from 'typebox/compile';
import { COMMAND_SCHEMAS, type Command, type CommandType, type ServerFrame } from './frames.js';
import type { ErrorCode } from './errors.js';

export type DecodeResult =
  | { ok: true; command: Command }
  | { ok: false; code: ErrorCode; message: string; id?: string };

const validators = Object.fromEntries(
  Object.entries(COMMAND_SCHEMAS).map(([type, schema]) => [type, Compile(schema)]),
) as { [K in CommandType]: ReturnType<typeof Compile> };

function isCommandType(type: string): type is CommandType {
  return Object.hasOwn(COMMAND_SCHEMAS, type);
}

export function decodeCommand(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'MALFORMED_FRAME', message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'MALFORMED_FRAME', message: 'frame must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  const id = typeof record.id === 'string' && record.id.length > 0 && record.id.length <= 64 ? record.id : undefined;
  const withId = <T extends object>(r: T) => (id === undefined ? r : { ...r, id });
  if (typeof record.type !== 'string') {
    return withId({ ok: false as const, code: 'MALFORMED_FRAME' as const, message: 'frame needs a string "type"' });
  }
  if (!isCommandType(record.type)) {
    return withId({ ok: false as const, code: 'UNKNOWN_COMMAND' as const, message: `unknown command type "${record.type.slice(0, 40)}"` });
  }
  const validator = validators[record.type];
  if (!validator.Check(value)) {
    const first = [...validator.Errors(value)].find((e) => e.keyword !== 'boolean');
    const where = first?.instancePath ? first.instancePath.slice(1) : 'frame';
    const extra = first?.keyword === 'additionalProperties' ? `unknown field(s) ${JSON.stringify(first.params)}` : first?.message;
    return withId({ ok: false as const, code: 'VALIDATION_FAILED' as const, message: `${where}: ${extra ?? 'invalid'}` });
  }
  return { ok: true, command: value as Command };
}

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
