/**
 * pino, configured once: JSON lines (one object per event, with `reqId` on HTTP requests and `session` on
 * WebSocket events), or a compact human-readable form when stdout is a terminal (LOG_FORMAT=auto) or asked for.
 * Known secret-bearing fields are redacted; code never puts tokens or passwords into log objects in the first place.
 */
import pino from 'pino';
import type { Config } from './config.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'password',
  'token',
  'refresh_token',
  'access_token',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.refresh_token',
  '*.access_token',
  '*.secret',
  '*.jwtSecret',
  '*.metricsToken',
];

interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};

const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

/** One pino JSON line -> `12:00:00.123 INFO  msg key=value …` (and the stack of an error on the next lines). */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const [name, tint] = LEVELS[entry.level as number] ?? ['LOG  ', ''];
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 23);
  const level = color ? `${tint}${name}\x1b[0m` : name;
  let stack = '';
  const fields = Object.entries(entry)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => {
      if (k === 'err' && typeof v === 'object' && v !== null && typeof (v as { stack?: unknown }).stack === 'string') {
        stack = `\n    ${(v as { stack: string }).stack.split('\n').join('\n    ')}`;
        return `err=${JSON.stringify((v as { message?: unknown }).message ?? '')}`;
      }
      return `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`;
    });
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

function prettyStream(out: Writable): Writable {
  const color = out.isTTY === true;
  return { write: (chunk: string) => out.write(prettyLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk, color)) };
}

export function createLogger(config: Pick<Config, 'logLevel'> & Partial<Pick<Config, 'logFormat'>>, out: Writable = process.stdout): pino.Logger {
  const format = config.logFormat ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && out.isTTY === true);
  const options: pino.LoggerOptions = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (pretty) return pino(options, prettyStream(out));
  return out === process.stdout ? pino(options) : pino(options, out);
}
