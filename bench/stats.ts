/** Percentiles, medians, process CPU and memory from /proc, and the machine's description. */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';

export const QUANTILES = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1] as const;

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** [quantile, ms] for the latency-distribution chart. */
  spectrum: Array<[number, number]>;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

export function percentiles(values: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length === 0 ? NaN : r3(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!));
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.length ? r3(sorted[sorted.length - 1]!) : NaN,
    spectrum: QUANTILES.filter((q) => q < 1 && sorted.length * (1 - q) >= 1).map((q) => [q, at(q)] as [number, number]),
  };
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

const TICKS = 100; // CLK_TCK on Linux

/** utime and stime of a process and its threads, in seconds (0 if it is gone). */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { user: Number(stat[11]) / TICKS, system: Number(stat[12]) / TICKS };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** utime + stime of a process and its threads, in seconds (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/**
 * A process's I/O syscalls (reads and writes of every kind: sockets, files, eventfds) and the bytes it wrote (to
 * sockets and files alike), from /proc/PID/io, all threads included; zeros if it is gone.
 */
export function ioCounts(pid: number): { syscalls: number; bytesWritten: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
    return { syscalls: field('syscr') + field('syscw'), bytesWritten: field('wchar') };
  } catch {
    return { syscalls: 0, bytesWritten: 0 };
  }
}

/**
 * Time the hypervisor gave CPU `cpu` (or all CPUs: undefined) to others while this VM wanted it ("steal" in
 * /proc/stat), in ms; 0 where the kernel does not count it.
 */
export function stealMs(cpu?: number): number {
  try {
    const name = cpu === undefined ? 'cpu' : `cpu${cpu}`;
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`${name} `));
    return ((Number(line?.trim().split(/\s+/)[8]) || 0) * 1000) / TICKS;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 if it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function machine(): Record<string, unknown> {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return { nproc: cpus().length, cpu_model: model, node: process.version, platform: `${process.platform} ${process.arch}`, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) };
}

/**
 * How fast this machine is right now, to set figures taken at different hours side by side (these shared VMs
 * drift): a fixed integer loop (ms, on the caller's core; 2·10⁷ additions) and the median of 200 4-KiB write+fdatasync in `dir`.
 */
export function calibrate(dir: string): { cpu_loop_ms: number; fdatasync_4k_p50_ms: number } {
  // The fastest of 15 runs of one small function (once it is optimized: its first runs are interpreted).
  const spin = (n: number) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = (x + i) | 0;
    return x;
  };
  let loop = Infinity;
  let t = 0;
  for (let r = 0; r < 15; r++) {
    t = performance.now();
    if (spin(2e7) === 0.5) loop = 0;
    loop = Math.min(loop, performance.now() - t);
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `.calibrate-${process.pid}`);
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      t = performance.now();
      writeSync(fd, page, 0, page.length, (i % 16) * 4096);
      fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return { cpu_loop_ms: round(loop, 1), fdatasync_4k_p50_ms: round(median(times), 3) };
}

export const round = (n: number, digits = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);
