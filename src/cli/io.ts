/** Exit codes (sysexits.h where one fits), usage errors, and small terminal helpers for the CLI. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataError: 65,
  unavailable: 69,
  config: 78,
  /** Not an exit code: the command keeps the process running (serve). */
  running: -1,
} as const;

export class UsageError extends Error {}

/** Reads all of stdin (a password piped in), without the trailing newline. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin needs the password piped in (e.g. printf %s "$PW" | natter …)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Progress and notes go to stderr, results to stdout (so `natter token issue ana` can be captured). */
export const note = (text: string) => process.stderr.write(`${text}\n`);
export const out = (text: string) => process.stdout.write(`${text}\n`);

/** "90", "90s", "15m", "12h", "30d" -> seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new UsageError(`"${text}" is not a duration (e.g. 900, 15m, 12h, 30d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
