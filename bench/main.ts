/**
 * natter bench (issue 7; method: docs/benchmarking.md of the shared docs, summarised in docs/benchmarks.md).
 * One process coordinates: it starts each target server fresh (pinned to CPU 0), forks loader processes (pinned to
 * CPU 1, each on its own source address 127.0.0.x), runs the workload's phases on every target in turn — side by side,
 * in the same run — repeats that --runs times, and writes bench-results/<workload>-<time>.json and .html.
 *
 *   npm run bench -- --help
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { renderReport } from './report.js';
import { DiskProbe, type DiskStalls } from './disk-probe.js';
import { calibrate, cpuSeconds, cpuTimes, ioCounts, machine, median, percentiles, round, rssBytes, stealMs, type Percentiles } from './stats.js';
import { available, pin, startTarget, TARGETS, type RunningTarget, type TargetName, type TargetOptions } from './targets.js';
import type { ConnSpec, LoaderCommand, LoaderReply, LoaderStats } from './types.js';

const WORKLOADS = {
  W0: 'raw floor (unbatched and coalesced) fan-out, raw Redis PUBLISH probe',
  W1: 'idle authenticated connections: RSS per connection, idle CPU, connects/s',
  W2: 'one room, all clients, 4 messages in flight, stepped client count: max clients at p95 ≤ 500 ms',
  W3: 'rooms of K members: closed-loop capacity, open loop at fractions of it; max deliveries/s at p99 ≤ 50 ms',
  W4: 'many small rooms (2,000 × 5), Poisson senders at one fixed rate for every target: CPU per delivery, p50/p99',
  W5: 'W3/W4 across 2 instances through Redis vs 1 instance: added latency, Redis subscribers per room channel',
  W6: 'every message persisted and acked after commit: persisted msgs/s (closed loop), ack p50/p99 at half the capacity and at half the goal',
  W7: 'reconnect storm: every client dropped at once, reconnects and resumes from its last seq',
  persist: 'the original persist-and-ack script (bench/persist.ts), passed the remaining arguments',
  hop: 'the original Redis-hop script (bench/hop.ts), passed the remaining arguments',
} as const;
type Workload = keyof typeof WORKLOADS;

const DEFAULTS: Record<string, { targets: TargetName[]; rooms: number; members: number; window: number; rate?: number }> = {
  W0: { targets: ['floor', 'floor-coalesced'], rooms: 10, members: 100, window: 8 },
  W1: { targets: ['floor', 'socketio', 'natter'], rooms: 20, members: 100, window: 1 },
  W2: { targets: ['floor-coalesced', 'socketio', 'natter'], rooms: 1, members: 0, window: 4 },
  W3: { targets: ['floor', 'floor-coalesced', 'socketio', 'natter', 'natter-rpg'], rooms: 10, members: 100, window: 8 },
  W4: { targets: ['floor', 'floor-coalesced', 'floor-persist', 'socketio', 'natter', 'natter-rpg'], rooms: 2000, members: 5, window: 1, rate: 1000 },
  W5: { targets: ['natter-rpg', 'natter-rpg-2'], rooms: 10, members: 10, window: 1, rate: 500 },
  W6: { targets: ['natter', 'natter-pg', 'natter-rpg'], rooms: 100, members: 1, window: 8 },
  W7: { targets: ['natter'], rooms: 10, members: 100, window: 1, rate: 200 },
};

const HELP = `natter bench — throughput, latency and memory beside a raw ws floor and Socket.IO, in one run

  npm run bench -- --workload W3 [options]

Workloads:
${Object.entries(WORKLOADS).map(([k, v]) => `  ${k.padEnd(8)} ${v}`).join('\n')}

Options (defaults depend on the workload; see docs/benchmarks.md):
  --workload W      W0…W7, persist or hop (default W3)
  --targets a,b     of ${TARGETS.join(', ')}
  --rooms R         rooms                          --members K   members per room (sender included)
  --window W        closed loop: messages in flight per sender
  --rate M          open loop: messages/s (W4, W5, W7; W3/W6 use --fractions of the measured capacity)
  --fractions f,…   open-loop points as fractions of capacity (default 0.25,0.5,0.75,0.9)
  --poisson         Poisson arrivals instead of a fixed interval (W4 always)
  --seconds S       measured seconds per phase (default 20)      --warmup S   warm-up seconds (default 5)
  --runs N          repeat every target N times, medians reported (default 3)
  --clients N       W1: connections; W2: first step (default 1000)     --step N  W2 step (default 1000)
  --max-clients N   W2: stop after this many (default 20000)
  --loaders N       loader processes (default: enough for ≤ 15,000 connections each, at least 2)
  --sample F        fraction of receivers that parse and record latency (default 0.03)
  --slo-ms MS       p99 bound for "max deliveries/s at p99 ≤ MS" (default 50)
  --users N         natter/Socket.IO users the connections are spread over (default 10)
  --node-args "…"   extra node args for natter, e.g. "--cpu-prof --cpu-prof-dir=bench-results/prof"
  --redis URL       (default $TEST_REDIS_URL or redis://127.0.0.1:6379)
  --pg-admin URL    (default $TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)
  --out DIR         results directory (default bench-results)
  --no-pin          do not pin with taskset          --quiet   no progress bar
  --from-src        run natter from src/ through tsx (default: build it, then run dist/main.js as npm start does)
  --help
`;

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    workload: { type: 'string', default: 'W3' },
    targets: { type: 'string' },
    rooms: { type: 'string' },
    members: { type: 'string' },
    window: { type: 'string' },
    rate: { type: 'string' },
    fractions: { type: 'string', default: '0.25,0.5,0.75,0.9' },
    poisson: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: '1000' },
    step: { type: 'string', default: '1000' },
    'max-clients': { type: 'string', default: '20000' },
    loaders: { type: 'string' },
    sample: { type: 'string', default: '0.03' },
    'slo-ms': { type: 'string', default: '50' },
    users: { type: 'string', default: '10' },
    'node-args': { type: 'string', default: process.env.BENCH_NODE_ARGS ?? '' },
    redis: { type: 'string', default: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    'pg-admin': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench-results' },
    'no-pin': { type: 'boolean', default: false },
    'from-src': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const str = (k: string) => a[k] as string;

if (a.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const workload = str('workload') as Workload;
if (!(workload in WORKLOADS)) {
  console.error(`unknown workload ${workload}\n\n${HELP}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------

interface Loader {
  child: ChildProcess;
  sent: number;
  received: number;
  /** Sending connections this loader holds: its share of an open-loop rate. */
  senders: number;
  waiters: Array<{ cmd: LoaderReply['cmd']; resolve: (r: LoaderReply) => void; reject: (e: Error) => void }>;
}

interface PhaseResult {
  phase: string;
  /** Wall-clock start (ISO), to line the phase up with a server's own logs. */
  started: string;
  offered_msgs_per_s: number | null;
  seconds: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  errors: number;
  msgs_per_s: number;
  deliveries_per_s: number;
  latency_ms: Percentiles;
  ack_ms: Percentiles | null;
  server_cpu_s: number;
  server_cpu_us_per_delivery: number;
  server_cpu_util: number;
  /** The kernel's share of the server's CPU (stime / (utime + stime)): syscalls, loopback TCP, fsync. */
  server_cpu_system_share: number;
  /** The server's read and write syscalls (sockets, files, eventfds; /proc/PID/io) per delivery. */
  server_syscalls_per_delivery: number;
  /** Bytes the server wrote (sockets and files) per delivery. */
  server_bytes_written_per_delivery: number;
  /** CPU time the hypervisor took from the server's core (CPU 0 when pinned, else all CPUs) during the phase, ms. */
  steal_ms: number;
  /** natter: messages per group commit and the commits' mean wall time over the phase (from its /metrics). */
  commits?: { count: number; msgs_per_commit: number; mean_ms: number };
  /**
   * natter's own view of the phase (its /metrics): ack latency from the frame's arrival to the ack and the commits'
   * p99 (as the upper bound of the histogram bucket they fall in), and the event loop's delay (p99, max; beyond the
   * monitor's 20 ms sampling interval, so 0 is an idle loop) — a client-side ack latency far above the server-side
   * one waited before natter read the frame. `commits_over_50ms`:
   * group commits that took longer than 50 ms from the batch's hand-off to its reply — with a loop delay far below
   * that, the disk's flush stalled (docs/benchmarks.md, "The disk's own stalls").
   */
  server?: { ack_p50_le_ms: number; ack_p99_le_ms: number; commit_p99_le_ms: number; commits_over_50ms: number; loop_delay_p99_ms: number; loop_delay_max_ms: number; gap_fills: number };
  loader_cpu_s: number;
  /** The disk's own flush stalls during the phase, from an fdatasync probe beside it (bench/disk-probe.ts). */
  disk?: DiskStalls;
  timeline: Array<[number, number]>;
  /** The slowest ack of each half second of intended send times: [seconds into the phase, ms]; where the tail is. */
  ack_timeline?: Array<[number, number]>;
}

interface TargetRun {
  target: TargetName;
  run: number;
  phases: PhaseResult[];
  figures: Record<string, number | string | boolean | null>;
  error?: string;
}

const opts: TargetOptions = {
  redisUrl: str('redis'),
  pgAdminUrl: str('pg-admin'),
  nodeArgs: str('node-args').split(' ').filter(Boolean),
  entry: a['from-src'] ? 'src' : 'dist',
  users: Number(str('users')),
  pin: !a['no-pin'],
};
/** The server's core, whose stolen time each phase records: CPU 0 when pinned, else all CPUs. */
const stealCpu = opts.pin ? 0 : undefined;
const SECONDS = Number(str('seconds'));
const WARMUP = Number(str('warmup'));
const SLO = Number(str('slo-ms'));
const tty = process.stderr.isTTY && !a.quiet;
let status = '';

function progress(line: string, fraction?: number): void {
  if (a.quiet) return;
  const bar = fraction === undefined ? '' : `${'█'.repeat(Math.round(Math.min(1, fraction) * 24)).padEnd(24, '░')} `;
  const text = `${status} ${bar}${line}`;
  if (tty) process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  else if (fraction === undefined || fraction >= 1) process.stderr.write(`${text}\n`);
}
const log = (line: string) => {
  if (tty) process.stderr.write('\r\x1b[2K');
  process.stderr.write(`${line}\n`);
};

function call(l: Loader, command: LoaderCommand, reply: LoaderReply['cmd']): Promise<LoaderReply> {
  return new Promise((resolve, reject) => {
    l.waiters.push({ cmd: reply, resolve, reject });
    l.child.send(command);
  });
}

async function startLoaders(n: number, sampleEvery: number): Promise<Loader[]> {
  const loaders = Array.from({ length: n }, (_, i) => {
    const child = fork('bench/loader.ts', [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const l: Loader = { child, sent: 0, received: 0, senders: 0, waiters: [] };
    child.on('message', (m: LoaderReply) => {
      if (m.cmd === 'tick') {
        l.sent = m.sent;
        l.received = m.received;
        return;
      }
      if (m.cmd === 'error') {
        for (const w of l.waiters.splice(0)) w.reject(new Error(`loader ${i}: ${m.message}`));
        return;
      }
      const k = l.waiters.findIndex((w) => w.cmd === m.cmd);
      if (k >= 0) l.waiters.splice(k, 1)[0]!.resolve(m);
    });
    child.on('exit', (code) => {
      for (const w of l.waiters.splice(0)) w.reject(new Error(`loader ${i} exited with ${code}`));
    });
    if (opts.pin) pin(child.pid!, '1');
    return l;
  });
  // Each loader on its own source address: ~28k ephemeral ports per (source, destination) pair.
  await Promise.all(loaders.map((l, i) => call(l, { cmd: 'init', localAddress: `127.0.0.${2 + i}`, sampleEvery }, 'ready')));
  return loaders;
}

async function stopLoaders(loaders: Loader[]): Promise<void> {
  await Promise.all(loaders.map(async (l) => {
    const exited = new Promise((r) => l.child.once('exit', r));
    l.child.send({ cmd: 'exit' } satisfies LoaderCommand);
    await exited;
  }));
}

/** Room members as connection specs: member 0 of each room sends (on the target's sender URL), the rest receive. */
function layout(t: RunningTarget, rooms: string[], members: number, sampleFraction: number, first = 0): ConnSpec[] {
  const specs: ConnSpec[] = [];
  const every = Math.max(1, Math.round(1 / sampleFraction));
  let k = first;
  rooms.forEach((room, r) => {
    for (let m = 0; m < members; m++, k++) {
      const sender = m === 0 && first === 0;
      specs.push({
        proto: t.proto,
        url: sender ? t.senderUrl : t.receiverUrl,
        token: t.tokens[k % t.tokens.length]!,
        room,
        roomSize: members,
        sender,
        // The first receiver of each room, then one in every 1/sampleFraction.
        sample: !sender && (first + m - 1) % every === 0,
        tag: `s${r}`,
      });
    }
  });
  return specs;
}

async function openConnections(loaders: Loader[], specs: ConnSpec[]): Promise<{ ok: number; failed: number; seconds: number }> {
  // Receivers round-robin; senders round-robin on their own, so every loader drives a share of the rate.
  const parts: ConnSpec[][] = loaders.map(() => []);
  let r = 0;
  let s = loaders.reduce((n, l) => n + l.senders, 0);
  for (const spec of specs) {
    const i = spec.sender ? s++ % loaders.length : r++ % loaders.length;
    parts[i]!.push(spec);
    if (spec.sender) loaders[i]!.senders++;
  }
  const t0 = performance.now();
  const timer = setInterval(() => progress(`connecting ${specs.length.toLocaleString()} clients`), 500);
  try {
    const replies = await Promise.all(loaders.map((l, i) => call(l, { cmd: 'open', specs: parts[i]!, concurrency: 100 }, 'opened')));
    let ok = 0;
    let failed = 0;
    for (const r of replies) {
      if (r.cmd !== 'opened') continue;
      ok += r.ok;
      failed += r.failed;
      if (r.firstError) log(`  connection failures: ${r.failed}, first: ${r.firstError}`);
    }
    return { ok, failed, seconds: (performance.now() - t0) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** [seconds after `start`, slowest latency] for each half second of `at` (same clock as `start`, ms). */
function slowestPerHalfSecond(start: number, at: number[], latency: number[]): Array<[number, number]> {
  const slowest: number[] = [];
  at.forEach((t, i) => {
    const bucket = Math.max(0, Math.floor((t - start) / 500));
    slowest[bucket] = Math.max(slowest[bucket] ?? 0, latency[i]!);
  });
  return Array.from(slowest, (ms, i) => [i / 2, round(ms ?? 0)] as [number, number]);
}

/** The I/O counts of every process of a target, summed. */
function serverIo(t: RunningTarget): { syscalls: number; bytesWritten: number } {
  return t.pids.map(ioCounts).reduce((a, b) => ({ syscalls: a.syscalls + b.syscalls, bytesWritten: a.bytesWritten + b.bytesWritten }), { syscalls: 0, bytesWritten: 0 });
}

/**
 * One measured phase: closed loop (window in flight per sender) or open loop at `rate` msgs/s spread over the loaders.
 * CPU is read from /proc before and after (run + drain); the drain waits until every expected delivery has arrived
 * or nothing has arrived for 5 s.
 */
async function phase(name: string, t: RunningTarget, loaders: Loader[], mode: { closed: number } | { rate: number; poisson: boolean }, seconds: number, during?: () => Promise<void>): Promise<PhaseResult> {
  const cpu0 = t.pids.map(cpuSeconds);
  const sys0 = t.pids.map((pid) => cpuTimes(pid).system);
  const io0 = serverIo(t);
  const steal0 = stealMs(stealCpu);
  const lcpu0 = loaders.map((l) => cpuSeconds(l.child.pid!));
  const counters0 = await t.serverCounters?.();
  for (const l of loaders) l.received = l.sent = 0;
  const t0 = performance.now();
  const timeline: Array<[number, number]> = [];
  let lastReceived = 0;
  let lastAt = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const received = loaders.reduce((n, l) => n + l.received, 0);
    const rate = ((received - lastReceived) * 1000) / (now - lastAt);
    timeline.push([round((now - t0) / 1000, 1), Math.round(rate)]);
    lastReceived = received;
    lastAt = now;
    progress(`${name}: ${Math.round(rate).toLocaleString()} deliveries/s`, (now - t0) / 1000 / seconds);
  }, 500);
  try {
    const side = during?.();
    if ('closed' in mode) await Promise.all(loaders.map((l) => call(l, { cmd: 'closed', window: mode.closed, seconds }, 'done')));
    else {
      const senders = loaders.reduce((n, l) => n + l.senders, 0);
      await Promise.all(loaders.map((l) => call(l, { cmd: 'open-loop', rate: (mode.rate * l.senders) / Math.max(1, senders), seconds, poisson: mode.poisson }, 'done')));
    }
    await side;
    // Drain.
    let prev = -1;
    let still = performance.now();
    for (;;) {
      const stats = (await Promise.all(loaders.map((l) => call(l, { cmd: 'stats' }, 'stats')))).map((r) => (r as { stats: LoaderStats }).stats);
      const received = stats.reduce((n, s) => n + s.received, 0);
      const expected = stats.reduce((n, s) => n + s.expected, 0);
      if (received >= expected) break;
      if (received !== prev) {
        prev = received;
        still = performance.now();
      } else if (performance.now() - still > 5_000) break;
      await sleep(20);
    }
  } finally {
    clearInterval(ticker);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const collected = (await Promise.all(loaders.map((l) => call(l, { cmd: 'collect' }, 'collected')))) as Array<Extract<LoaderReply, { cmd: 'collected' }>>;
  const sum = (k: keyof LoaderStats) => collected.reduce((n, c) => n + c.stats[k], 0);
  const serverCpu = t.pids.reduce((n, pid, i) => n + cpuSeconds(pid) - cpu0[i]!, 0);
  const serverSys = t.pids.reduce((n, pid, i) => n + cpuTimes(pid).system - sys0[i]!, 0);
  const loaderCpu = loaders.reduce((n, l, i) => n + cpuSeconds(l.child.pid!) - lcpu0[i]!, 0);
  const io1 = serverIo(t);
  const steal = stealMs(stealCpu) - steal0;
  const latencies = collected.flatMap((c) => Array.from(c.latencies));
  const acks = collected.flatMap((c) => Array.from(c.acks));
  const ackTimeline = slowestPerHalfSecond(performance.timeOrigin + t0, collected.flatMap((c) => Array.from(c.ackAt)), acks);
  const received = sum('received');
  const counters1 = await t.serverCounters?.();
  const result: PhaseResult = {
    phase: name,
    started: new Date(performance.timeOrigin + t0).toISOString(),
    offered_msgs_per_s: 'rate' in mode ? Math.round(mode.rate) : null,
    seconds: round(elapsed),
    sent: sum('sent'),
    expected: sum('expected'),
    received,
    lost: Math.max(0, sum('expected') - received),
    duplicated: sum('duplicated') + Math.max(0, received - sum('expected')),
    reordered: sum('reordered'),
    errors: sum('errors'),
    msgs_per_s: Math.round(sum('sent') / elapsed),
    deliveries_per_s: Math.round(received / elapsed),
    latency_ms: percentiles(latencies),
    ack_ms: acks.length ? percentiles(acks) : null,
    server_cpu_s: round(serverCpu),
    server_cpu_us_per_delivery: round((serverCpu / Math.max(1, received)) * 1e6),
    server_cpu_util: round(serverCpu / elapsed),
    server_cpu_system_share: round(serverSys / Math.max(serverCpu, 1e-9)),
    server_syscalls_per_delivery: round((io1.syscalls - io0.syscalls) / Math.max(1, received)),
    server_bytes_written_per_delivery: Math.round((io1.bytesWritten - io0.bytesWritten) / Math.max(1, received)),
    steal_ms: round(steal),
    loader_cpu_s: round(loaderCpu),
    ...(diskProbe && { disk: diskProbe.between(performance.timeOrigin + t0, performance.timeOrigin + t0 + elapsed * 1000) }),
    timeline,
    ...(ackTimeline.length > 0 && { ack_timeline: ackTimeline }),
  };
  if (counters0 && counters1) {
    const count = counters1.commits - counters0.commits;
    result.commits = {
      count,
      msgs_per_commit: round((counters1.persisted - counters0.persisted) / Math.max(1, count)),
      mean_ms: round(((counters1.seconds - counters0.seconds) * 1000) / Math.max(1, count)),
    };
    result.server = {
      ack_p50_le_ms: bucketQuantile(counters0.ackBuckets, counters1.ackBuckets, 0.5),
      ack_p99_le_ms: bucketQuantile(counters0.ackBuckets, counters1.ackBuckets, 0.99),
      commit_p99_le_ms: bucketQuantile(counters0.commitBuckets, counters1.commitBuckets, 0.99),
      commits_over_50ms: countAbove(counters0.commitBuckets, counters1.commitBuckets, 0.05),
      loop_delay_p99_ms: round(counters1.loopDelayP99 * 1000),
      loop_delay_max_ms: round(counters1.loopDelayMax * 1000),
      gap_fills: counters1.gapFills - counters0.gapFills,
    };
  }
  const worst = result.ack_timeline?.reduce((a, b) => (b[1] > a[1] ? b : a));
  log(`  ${t.name} ${name}: ${result.deliveries_per_s.toLocaleString()} deliveries/s, p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms${result.ack_ms ? `, ack p99 ${result.ack_ms.p99} ms` : ''}${worst ? ` (slowest ${worst[1]} ms, ${worst[0]} s in)` : ''}, ${result.server_cpu_us_per_delivery} µs CPU/delivery${result.commits ? `, ${result.commits.msgs_per_commit} msgs/commit of ${result.commits.mean_ms} ms` : ''}${result.server ? `, server ack p50/p99 ≤ ${result.server.ack_p50_le_ms}/${result.server.ack_p99_le_ms} ms, commit p99 ≤ ${result.server.commit_p99_le_ms} ms, ${result.server.commits_over_50ms} over 50 ms, loop delay p99 ${result.server.loop_delay_p99_ms} max ${result.server.loop_delay_max_ms} ms, ${result.server.gap_fills} gap fills` : ''}${result.disk ? `, disk stalls ${result.disk.stalls} (max ${result.disk.max_ms} ms)` : ''}, ${result.server_syscalls_per_delivery} syscalls and ${result.server_bytes_written_per_delivery} B written/delivery, steal ${result.steal_ms} ms, lost ${result.lost}, dup ${result.duplicated}`);
  return result;
}

/** The upper bound (ms) of the histogram bucket holding quantile q of the observations between two scrapes. */
/** The disk's stalls beside the phases (started with the loaders). */
let diskProbe: DiskProbe | undefined;

/** Observations above the bucket bound `le` (seconds) between two scrapes of a cumulative histogram. */
function countAbove(before: Array<[number, number]>, after: Array<[number, number]>, le: number): number {
  const at = (buckets: Array<[number, number]>, bound: number) => buckets.find(([b]) => b === bound)?.[1] ?? 0;
  const all = (buckets: Array<[number, number]>) => Math.max(0, ...buckets.map(([, n]) => n)); // cumulative: +Inf's
  return all(after) - all(before) - (at(after, le) - at(before, le));
}

function bucketQuantile(before: Array<[number, number]>, after: Array<[number, number]>, q: number): number {
  const base = new Map(before);
  const counts = after.map(([le, n]): [number, number] => [le, n - (base.get(le) ?? 0)]);
  const total = counts.at(-1)?.[1] ?? 0;
  const bucket = counts.find(([, n]) => n >= q * total);
  return bucket && total > 0 ? round(bucket[0] * 1000) : NaN;
}

/** Closed-loop capacity, then open loop at fractions of it. Returns phases and the headline figures. */
/** W6: issue 7's persisted-rate goals (msgs/s); "ack p99 ≤ 20 ms at half load" is checked at half the measured
 * capacity and at half the goal. */
const PERSIST_GOAL: Partial<Record<TargetName, number>> = { natter: 20_000, 'natter-pg': 10_000, 'natter-rpg': 10_000 };

async function capacityAndLatency(t: RunningTarget, loaders: Loader[], window: number, fractions: number[], fixedRate?: number): Promise<{ phases: PhaseResult[]; figures: TargetRun['figures'] }> {
  const phases: PhaseResult[] = [];
  if (WARMUP > 0) await phase('warm-up', t, loaders, { closed: window }, WARMUP);
  const closed = await phase(`closed loop, ${window} in flight per sender`, t, loaders, { closed: window }, SECONDS);
  phases.push(closed);
  for (const f of fractions) phases.push(await phase(`open loop ${Math.round(f * 100)}%`, t, loaders, { rate: closed.msgs_per_s * f, poisson: Boolean(a.poisson) }, SECONDS));
  const fixed = fixedRate === undefined ? undefined : await phase(`open loop ${fixedRate} msgs/s`, t, loaders, { rate: fixedRate, poisson: Boolean(a.poisson) }, SECONDS);
  if (fixed) phases.push(fixed);
  const withinSlo = phases.filter((p) => p.latency_ms.p99 <= SLO && p.lost === 0);
  const half = phases.find((p) => p.phase === 'open loop 50%');
  return {
    phases,
    figures: {
      capacity_deliveries_per_s: closed.deliveries_per_s,
      capacity_msgs_per_s: closed.msgs_per_s,
      [`max_deliveries_per_s_at_p99_le_${SLO}ms`]: withinSlo.length ? Math.max(...withinSlo.map((p) => p.deliveries_per_s)) : 0,
      closed_cpu_us_per_delivery: closed.server_cpu_us_per_delivery,
      half_p50_ms: half?.latency_ms.p50 ?? null,
      half_p99_ms: half?.latency_ms.p99 ?? null,
      half_ack_p50_ms: half?.ack_ms?.p50 ?? null,
      half_ack_p99_ms: half?.ack_ms?.p99 ?? null,
      half_cpu_us_per_delivery: half?.server_cpu_us_per_delivery ?? null,
      ...(half?.disk && { half_disk_stalls: half.disk.stalls, half_disk_stall_max_ms: half.disk.max_ms }),
      ...(fixed && { fixed_rate_msgs_per_s: fixedRate, fixed_ack_p50_ms: fixed.ack_ms?.p50 ?? null, fixed_ack_p99_ms: fixed.ack_ms?.p99 ?? null }),
      ...(fixed?.disk && { fixed_disk_stalls: fixed.disk.stalls, fixed_disk_stall_max_ms: fixed.disk.max_ms }),
    },
  };
}

async function redisProbe(): Promise<Record<string, number>> {
  const redis = createClient({ url: opts.redisUrl });
  await redis.connect();
  const channel = `bench-probe-${process.pid}`;
  const N = Math.max(2_000, Math.min(50_000, SECONDS * 2_000));
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await redis.publish(channel, 'x'.repeat(100));
  const unpipelined = N / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  for (let i = 0; i < N; i += 16) await Promise.all(Array.from({ length: 16 }, () => redis.publish(channel, 'x'.repeat(100))));
  const pipelined = N / ((performance.now() - t0) / 1000);
  await redis.close();
  return { redis_publish_per_s_unpipelined: Math.round(unpipelined), redis_publish_per_s_16_deep: Math.round(pipelined) };
}

async function runTarget(w: Workload, name: TargetName, run: number, cfg: { rooms: number; members: number; window: number; rate: number | undefined; fractions: number[]; loaders: number; sample: number }, loaders: Loader[]): Promise<TargetRun> {
  status = `[${w} run ${run} ${name}]`;
  progress('starting');
  const t = await startTarget(name, opts);
  const out: TargetRun = { target: name, run, phases: [], figures: {} };
  try {
    if (w === 'W2') {
      // websocket-shootout: one room, every client in it; 4 messages in flight; add clients by --step.
      const [room] = await t.createRooms(1);
      const step = Number(str('step'));
      const max = Number(str('max-clients'));
      let clients = 0;
      let best = 0;
      for (let target = Number(str('clients')); target <= max; target += step) {
        const add = target - clients;
        const specs = layout(t, [room!], add, Math.max(cfg.sample, 0.05), clients);
        if (clients === 0) specs[0]!.sender = true;
        const opened = await openConnections(loaders, specs);
        clients += opened.ok;
        if (opened.failed) break;
        await Promise.all(loaders.map((l) => call(l, { cmd: 'room-size', size: clients }, 'stats')));
        const p = await phase(`${clients} clients`, t, loaders, { closed: cfg.window }, SECONDS);
        out.phases.push(p);
        if (p.latency_ms.p95 > 500 || p.lost > 0) break;
        best = clients;
      }
      out.figures = { max_clients_at_p95_le_500ms: best, clients_reached: clients };
    } else if (w === 'W1') {
      const rooms = await t.createRooms(Math.ceil(Number(str('clients')) / cfg.members));
      await sleep(1000);
      const rss0 = t.pids.reduce((n, p) => n + rssBytes(p), 0);
      const specs = layout(t, rooms, cfg.members, cfg.sample).slice(0, Number(str('clients')));
      for (const s of specs) s.sender = false;
      const opened = await openConnections(loaders, specs);
      progress('idle 3 s');
      await sleep(3000);
      const rss1 = t.pids.reduce((n, p) => n + rssBytes(p), 0);
      const cpu0 = t.pids.reduce((n, p) => n + cpuSeconds(p), 0);
      await sleep(Math.min(10, SECONDS) * 1000);
      const idleCpu = (t.pids.reduce((n, p) => n + cpuSeconds(p), 0) - cpu0) / Math.min(10, SECONDS);
      out.figures = {
        connections: opened.ok,
        failed: opened.failed,
        connects_per_s: Math.round(opened.ok / opened.seconds),
        rss_before_mib: round(rss0 / 2 ** 20),
        rss_after_mib: round(rss1 / 2 ** 20),
        rss_kib_per_connection: round((rss1 - rss0) / 1024 / Math.max(1, opened.ok)),
        idle_cpu_percent: round(idleCpu * 100),
      };
    } else if (w === 'W7') {
      // Reconnect storm: senders keep sending at --rate; a third of the way in every receiver is dropped at once and
      // reconnects (100 at a time per loader), resuming each room from its last seq. Nothing may be lost or repeated.
      const rooms = await t.createRooms(cfg.rooms);
      const specs = layout(t, rooms, cfg.members, cfg.sample).map((s) => ({ ...s, track: true }));
      const opened = await openConnections(loaders, specs);
      if (opened.failed) throw new Error(`${opened.failed} of ${specs.length} connections failed`);
      const rate = cfg.rate ?? 200;
      let storm: Array<Extract<LoaderReply, { cmd: 'stormed' }>> = [];
      const p = await phase(`open loop ${rate} msgs/s, storm at ${Math.round(SECONDS / 3)} s`, t, loaders, { rate, poisson: false }, SECONDS, async () => {
        await sleep((SECONDS / 3) * 1000);
        storm = (await Promise.all(loaders.map((l) => call(l, { cmd: 'storm', concurrency: 100 }, 'stormed')))) as typeof storm;
      });
      out.phases.push(p);
      const times = percentiles(storm.flatMap((s) => Array.from(s.reconnectMs)));
      const failed = storm.reduce((n, s) => n + s.failed, 0);
      if (failed) log(`  reconnect failures: ${failed}, first: ${storm.find((s) => s.firstError)?.firstError}`);
      out.figures = {
        dropped: storm.reduce((n, s) => n + s.dropped, 0),
        reconnect_failed: failed,
        s_to_99pct_reconnected: round(times.p99 / 1000, 3),
        s_to_all_reconnected: round(times.max / 1000, 3),
        lost: p.lost,
        duplicated: p.duplicated,
        p99_ms: p.latency_ms.p99,
      };
    } else {
      const rooms = await t.createRooms(cfg.rooms);
      const specs = layout(t, rooms, cfg.members, cfg.sample);
      const opened = await openConnections(loaders, specs);
      if (opened.failed) throw new Error(`${opened.failed} of ${specs.length} connections failed`);
      if (w === 'W4' || w === 'W5') {
        const rate = cfg.rate ?? 1000;
        if (WARMUP > 0) await phase('warm-up', t, loaders, { rate, poisson: w === 'W4' || Boolean(a.poisson) }, WARMUP);
        const p = await phase(`open loop ${rate} msgs/s`, t, loaders, { rate, poisson: w === 'W4' || Boolean(a.poisson) }, SECONDS);
        out.phases.push(p);
        out.figures = { deliveries_per_s: p.deliveries_per_s, p50_ms: p.latency_ms.p50, p99_ms: p.latency_ms.p99, cpu_us_per_delivery: p.server_cpu_us_per_delivery, cpu_util: p.server_cpu_util };
        Object.assign(out.figures, await t.extra?.(rooms));
      } else {
        const goal = PERSIST_GOAL[name];
        const r = await capacityAndLatency(t, loaders, cfg.window, w === 'W6' ? [0.5] : cfg.fractions, w === 'W6' && goal ? goal / 2 : undefined);
        out.phases = r.phases;
        out.figures = r.figures;
      }
    }
  } catch (err) {
    out.error = (err as Error).message;
    log(`  ${name}: ${out.error}`);
  } finally {
    await Promise.all(loaders.map((l) => call(l, { cmd: 'close-all' }, 'closed-all')));
    for (const l of loaders) l.senders = 0;
    await Promise.all(loaders.map((l) => call(l, { cmd: 'collect' }, 'collected')));
    await t.stop();
  }
  return out;
}

function summarise(w: Workload, runs: TargetRun[], targets: TargetName[]) {
  const medians: Record<string, Record<string, number>> = {};
  for (const name of targets) {
    const mine = runs.filter((r) => r.target === name && !r.error);
    const keys = new Set(mine.flatMap((r) => Object.keys(r.figures)));
    medians[name] = {};
    for (const k of keys) {
      const v = mine.map((r) => r.figures[k]).filter((x): x is number => typeof x === 'number');
      if (v.length) medians[name]![k] = round(median(v));
    }
  }
  const m = (t: string, k: string) => medians[t]?.[k] ?? NaN;
  const slo = `max_deliveries_per_s_at_p99_le_${SLO}ms`;
  const checks: Array<{ target: string; figure: string; value: number; goal: string; pass: boolean | null }> = [];
  const check = (target: string, figure: string, value: number, goal: string, ok: (v: number) => boolean) =>
    checks.push({ target, figure, value: round(value, 3), goal, pass: Number.isFinite(value) ? ok(value) : null });
  if (w === 'W4' || w === 'W3') {
    const k = w === 'W4' ? 'cpu_us_per_delivery' : 'half_cpu_us_per_delivery';
    // Target 1 is about unbatched fan-out (W4: 5-member rooms, one message per socket per turn); in W3 natter
    // coalesces, so the same ratio there only says how far coalescing carries it below the unbatched floor.
    for (const n of ['natter', 'natter-rpg']) check(w === 'W4' ? `1. CPU per delivery vs floor (W4, unbatched)` : `CPU per delivery vs unbatched floor (W3)`, `${n} / floor`, m(n, k) / m('floor', k), w === 'W4' ? '≤ 1.2' : 'info', (v) => v <= 1.2);
    for (const n of ['natter', 'natter-rpg']) check(`1'. CPU per delivery vs coalesced floor (${w})`, `${n} / floor-coalesced`, m(n, k) / m('floor-coalesced', k), '≤ 1.2 (same batching policy)', (v) => v <= 1.2);
    // Beside target 1: the same relay when it, too, commits every message durably before the fan-out.
    if (w === 'W4') for (const n of ['natter', 'natter-rpg']) check('1. beside it: vs the floor that commits each message', `${n} / floor-persist`, m(n, k) / m('floor-persist', k), 'info', () => true);
  }
  if (w === 'W3') {
    check('2. coalesced deliveries/s at p99 ≤ 50 ms', 'natter', m('natter', slo), '≥ 300,000', (v) => v >= 300_000);
    check('3. max deliveries/s at p99 ≤ 50 ms vs Socket.IO', 'natter / socketio', m('natter', slo) / m('socketio', slo), '≥ 2', (v) => v >= 2);
    check('3. max deliveries/s at p99 ≤ 50 ms vs Socket.IO', 'natter-rpg / socketio', m('natter-rpg', slo) / m('socketio', slo), '≥ 2', (v) => v >= 2);
    check('4. p50 at 50% of capacity', 'natter (ms)', m('natter', 'half_p50_ms'), '≤ 5', (v) => v <= 5);
    check('4. p99 at 50% of capacity', 'natter (ms)', m('natter', 'half_p99_ms'), '≤ 25', (v) => v <= 25);
    check('  natter vs coalesced floor', 'natter / floor-coalesced (max at SLO)', m('natter', slo) / m('floor-coalesced', slo), 'info', () => true);
  }
  if (w === 'W5') {
    check('4. Redis hop adds, p50', 'natter-rpg-2 − natter-rpg (ms)', m('natter-rpg-2', 'p50_ms') - m('natter-rpg', 'p50_ms'), '≤ 1', (v) => v <= 1);
    check('4. Redis hop adds, p99', 'natter-rpg-2 − natter-rpg (ms)', m('natter-rpg-2', 'p99_ms') - m('natter-rpg', 'p99_ms'), '≤ 5', (v) => v <= 5);
    check('W5. subscribers per room channel', 'natter-rpg-2', m('natter-rpg-2', 'max_subscribers_per_room_channel'), '= 2 (only instances with members)', (v) => v <= 2);
  }
  if (w === 'W1') {
    check('5. idle connections per process', 'natter', m('natter', 'connections'), '≥ 19,000', (v) => v >= 19_000);
    check('5. RSS per idle connection (KiB)', 'natter', m('natter', 'rss_kib_per_connection'), '≤ 12', (v) => v <= 12);
    check('5. RSS per connection vs floor', 'natter / floor', m('natter', 'rss_kib_per_connection') / m('floor', 'rss_kib_per_connection'), 'info (floor ~9.4 KiB)', () => true);
  }
  if (w === 'W7') {
    check('W7. lost after resume', 'natter', m('natter', 'lost'), '0', (v) => v === 0);
    check('W7. duplicated after resume', 'natter', m('natter', 'duplicated'), '0', (v) => v === 0);
    check('W7. time to 99% reconnected (s)', 'natter', m('natter', 's_to_99pct_reconnected'), 'info', () => true);
  }
  if (w === 'W2') check('6. clients in one room at p95 ≤ 500 ms', 'natter', m('natter', 'max_clients_at_p95_le_500ms'), '≥ 10,000', (v) => v >= 10_000);
  if (w === 'W6') {
    check('7. persisted msgs/s, SQLite', 'natter', m('natter', 'capacity_msgs_per_s'), '≥ 20,000', (v) => v >= 20_000);
    check('7. ack p99 at half load, SQLite (ms)', 'natter', m('natter', 'half_ack_p99_ms'), '≤ 20', (v) => v <= 20);
    check('7. ack p99 at half the goal (10,000 msgs/s), SQLite (ms)', 'natter', m('natter', 'fixed_ack_p99_ms'), '≤ 20', (v) => v <= 20);
    // PostgreSQL on one node (the core issue's figure) and behind Redis (scale-out).
    for (const n of ['natter-pg', 'natter-rpg'] as const) {
      check('7. persisted msgs/s, PostgreSQL', n, m(n, 'capacity_msgs_per_s'), '≥ 10,000', (v) => v >= 10_000);
      check('7. ack p99 at half load, PostgreSQL (ms)', n, m(n, 'half_ack_p99_ms'), '≤ 20', (v) => v <= 20);
      check('7. ack p99 at half the goal (5,000 msgs/s), PostgreSQL (ms)', n, m(n, 'fixed_ack_p99_ms'), '≤ 20', (v) => v <= 20);
    }
  }
  const delivery = runs.flatMap((r) => r.phases.map((p) => ({ target: r.target, run: r.run, phase: p.phase, expected: p.expected, received: p.received, lost: p.lost, duplicated: p.duplicated, reordered: p.reordered })));
  return { medians, checks, delivery_ok: delivery.every((d) => d.lost === 0 && d.duplicated === 0), delivery };
}

async function main(w: Exclude<Workload, 'persist' | 'hop'>): Promise<void> {
  const d = DEFAULTS[w]!;
  const targets = (a.targets ? str('targets').split(',') : d.targets) as TargetName[];
  for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (${TARGETS.join(', ')})`);
  const cfg = {
    rooms: a.rooms ? Number(str('rooms')) : d.rooms,
    members: a.members ? Number(str('members')) : w === 'W2' ? 0 : d.members,
    window: a.window ? Number(str('window')) : d.window,
    rate: a.rate ? Number(str('rate')) : d.rate,
    fractions: str('fractions').split(',').map(Number).filter((f) => f > 0),
    sample: Number(str('sample')),
    loaders: 2,
  };
  const conns = w === 'W2' ? Number(str('max-clients')) : w === 'W1' ? Number(str('clients')) : cfg.rooms * cfg.members;
  cfg.loaders = a.loaders ? Number(str('loaders')) : Math.max(2, Math.ceil(conns / 15_000));
  const runsN = Number(str('runs'));
  const started = new Date();
  if (opts.pin) pin(process.pid, '1');
  const speed = calibrate(str('out'));
  const info = { workload: w, description: WORKLOADS[w], started: started.toISOString(), machine: { ...machine(), ...speed }, uptime_before: uptime(), pinned: opts.pin && hasTaskset(), config: { ...cfg, targets, seconds: SECONDS, warmup: WARMUP, runs: runsN, slo_ms: SLO } };
  log(`natter bench ${w}: ${WORKLOADS[w]}\n  targets ${targets.join(', ')}; ${JSON.stringify(cfg)}; ${runsN} run(s) of ${SECONDS} s; load: ${info.uptime_before}; speed: ${JSON.stringify(speed)}`);
  const usable: TargetName[] = [];
  const skipped: Record<string, string> = {};
  for (const t of targets) {
    const why = await available(opts, t);
    if (why) {
      skipped[t] = why;
      log(`  skipping ${t}: ${why}`);
    } else usable.push(t);
  }
  if (opts.entry === 'dist' && usable.some((t) => t.startsWith('natter'))) {
    // natter runs as `npm start` runs it, from its build: compile src/ now so the build is this checkout's.
    progress('building natter (tsc)');
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  }
  const runs: TargetRun[] = [];
  const extra: Record<string, unknown> = {};
  if (w === 'W0' && !skipped.socketio) extra.redis = await redisProbe().catch((e: Error) => ({ error: e.message }));
  const loaders = await startLoaders(cfg.loaders, 1);
  diskProbe = new DiskProbe();
  try {
    for (let run = 1; run <= runsN; run++) for (const t of usable) runs.push(await runTarget(w, t, run, cfg, loaders));
  } finally {
    await stopLoaders(loaders);
    await diskProbe.stop();
  }
  const summary = summarise(w, runs, usable);
  const result = { ...info, finished: new Date().toISOString(), uptime_after: uptime(), skipped, extra, summary, runs };
  mkdirSync(str('out'), { recursive: true });
  const base = join(str('out'), `${w}-${started.toISOString().replace(/[:.]/g, '-')}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2));
  writeFileSync(`${base}.html`, renderReport(result));
  log('');
  for (const [t, fig] of Object.entries(summary.medians)) log(`  ${t.padEnd(16)} ${Object.entries(fig).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  for (const c of summary.checks) log(`  ${c.pass === null ? '  ?' : c.pass ? ' ok' : 'MISS'}  ${c.target}: ${c.figure} = ${c.value} (goal ${c.goal})`);
  if (w === 'W6') {
    // Each run's ack p99 beside the disk's own flush stalls in the same phase (bench/disk-probe.ts).
    for (const t of usable) {
      const each = runs.filter((r) => r.target === t && !r.error).map((r) => `${r.figures.fixed_ack_p99_ms} (${r.figures.fixed_disk_stalls ?? '?'} disk stalls, max ${r.figures.fixed_disk_stall_max_ms ?? '?'} ms)`);
      log(`        ${t}: ack p99 at the fixed rate, each run: ${each.join(' / ')}`);
    }
  }
  log(`  delivery: ${summary.delivery_ok ? 'every phase complete, nothing lost or duplicated' : 'LOSS OR DUPLICATES, see JSON'}`);
  log(`  results: ${base}.json\n           ${base}.html`);
  process.stdout.write(`${JSON.stringify({ json: `${base}.json`, html: `${base}.html`, delivery_ok: summary.delivery_ok, errors: runs.filter((r) => r.error).map((r) => `${r.target}: ${r.error}`) })}\n`);
  if (!summary.delivery_ok || runs.some((r) => r.error)) process.exitCode = 1;
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `loadavg ${JSON.stringify(machine().loadavg)}`;
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (workload === 'persist' || workload === 'hop') {
  // The original single-purpose scripts, kept reachable: every other argument is passed on.
  const rest = process.argv.slice(2).filter((x, i, all) => x !== '--workload' && all[i - 1] !== '--workload' && !x.startsWith('--workload='));
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${workload}.ts`, ...rest, ...positionals.filter((x) => !rest.includes(x))], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await main(workload);
}
