/**
 * Runs natter as a real child process and waits for its "listening" log line: from src/main.ts through tsx (tests),
 * or from the build, dist/main.js, as `npm start` runs it (the bench).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LOOSE_LIMITS } from './server.js';

export interface NatterProcess {
  child: ChildProcess;
  baseUrl: string;
  wsUrl: string;
  /** Every stdout/stderr line so far (pino JSON), for assertions on logs. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startNatterProcess(env: Record<string, string>, timeoutMs = 45_000, nodeArgs: string[] = [], entry: 'src' | 'dist' = 'src'): Promise<NatterProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...(entry === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'])], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...LOOSE_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`natter did not start in ${timeoutMs} ms:\n${output.join('\n')}`)), timeoutMs);
    lines.on('line', (line) => {
      output.push(line);
      if (!line.includes('natter listening')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { address: string }).address);
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`natter exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
  return { child, baseUrl, wsUrl: `${baseUrl.replace(/^http/, 'ws')}/ws`, output, exited };
}
