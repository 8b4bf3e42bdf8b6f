/** Messages between bench/main.ts (the coordinator) and its loader child processes (bench/loader.ts). */
export type Proto = 'natter' | 'floor' | 'sio';

export interface ConnSpec {
  proto: Proto;
  /** ws://host:port (natter: …/ws) */
  url: string;
  token?: string;
  room: string;
  /** Members of the room, sender included: each message sent here is expected this many times. */
  roomSize: number;
  sender: boolean;
  /** Parse frames: one-way latency, duplicates, order. */
  sample: boolean;
  /** Unique per sender, no dots. */
  tag: string;
  /** W7: parse every frame's seq, rejoin with `since` after a drop (natter only). */
  track?: boolean;
}

export type LoaderCommand =
  | { cmd: 'init'; localAddress: string | undefined; sampleEvery: number }
  | { cmd: 'open'; specs: ConnSpec[]; concurrency: number }
  | { cmd: 'closed'; window: number; seconds: number }
  | { cmd: 'open-loop'; rate: number; seconds: number; poisson: boolean }
  | { cmd: 'room-size'; size: number }
  | { cmd: 'storm'; concurrency: number }
  | { cmd: 'stats' }
  | { cmd: 'collect' }
  | { cmd: 'close-all' }
  | { cmd: 'exit' };

export interface LoaderStats {
  sent: number;
  expected: number;
  received: number;
  duplicated: number;
  reordered: number;
  errors: number;
  connections: number;
}

export type LoaderReply =
  | { cmd: 'ready' }
  | { cmd: 'opened'; ok: number; failed: number; firstError?: string }
  | { cmd: 'done' }
  | { cmd: 'stats'; stats: LoaderStats }
  | { cmd: 'collected'; stats: LoaderStats; latencies: Float64Array; acks: Float64Array; ackAt: Float64Array }
  | { cmd: 'closed-all' }
  | { cmd: 'stormed'; dropped: number; failed: number; firstError?: string; reconnectMs: Float64Array }
  | { cmd: 'tick'; sent: number; received: number }
  | { cmd: 'error'; message: string };
