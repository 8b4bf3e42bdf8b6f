/**
 * Redis connections for one natter instance: a command connection and a subscriber, on a single server or a
 * Redis Cluster (sharded Pub/Sub). Every client has an error handler: an outage is logged, never a crash.
 */
import { createHash } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import type { Logger } from '../../core/deps.js';
import { ChatError } from '../../core/errors.js';

/** Any Redis failure, as the core sees it: temporary unavailability. */
export const redisUnavailable = (err: unknown): never => {
  throw new ChatError('UNAVAILABLE', 'redis is unavailable; retry', { cause: err });
};

export interface RedisConnectOptions {
  /** redis://host:port[/db]; for a cluster, one or more seed node URLs separated by commas. */
  url: string;
  cluster: boolean;
  log: Logger;
}

type Listener = (message: string, channel: string) => void;

/** The few operations natter needs, the same on a single server and a cluster. */
export interface RedisHandles {
  readonly cluster: boolean;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  unsubscribe(channel: string, listener: Listener): Promise<void>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /** Called each time the subscriber is (re)connected and ready, after the first time. */
  onSubscriberRestored(handler: () => void): void;
  /**
   * Replaces the command connection (in the background; the old one is dropped once the new one is ready).
   * For a socket that is open but silent: writes keep it "active", so no socket timeout would ever fire.
   */
  recycleCommands(): void;
  quit(): Promise<void>;
}

// Reconnect quickly at first, then at most every 2 s, with jitter so instances do not stampede Redis.
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 2_000) + Math.floor(Math.random() * 100);
// A socket silent for this long is dead (the broker's canary keeps a healthy one busy every second).
const SOCKET_TIMEOUT_MS = 4_000;
// No command waits longer than this for its reply (publishes are hints; nothing piles up behind a stall).
const COMMAND_TIMEOUT_MS = 2_000;
const socket = { connectTimeout: 2_000, socketTimeout: SOCKET_TIMEOUT_MS, reconnectStrategy };

/**
 * EVALSHA first, EVAL when the server does not know the script (NOSCRIPT: a restart, SCRIPT FLUSH, a new node):
 * a script's text crosses the wire once per server instead of once per call.
 */
function scriptRunner(client: {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}) {
  const shas = new Map<string, string>();
  return async (script: string, keys: string[], args: string[]): Promise<unknown> => {
    let sha = shas.get(script);
    if (sha === undefined) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
    const options = { keys, arguments: args };
    try {
      return await client.evalSha(sha, options);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(script, options);
    }
  };
}

export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
}

/**
 * Rejects a command still unanswered after `timeoutMs`. Every command has the same timeout, so deadlines come in
 * the order commands were sent: one FIFO and one sweep timer serve them all. (node-redis' own per-command timeout
 * arms an AbortSignal.timeout for every command, which took a 5,000 EVAL/s load's p99 from 0.7 ms to 7 ms.)
 */
export function commandDeadlines(timeoutMs: number, sweepMs = Math.max(10, Math.floor(timeoutMs / 8))) {
  interface Waiting {
    at: number;
    settled: boolean;
    reject(error: Error): void;
  }
  let queue: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    let i = 0;
    while (i < queue.length && (queue[i]!.settled || queue[i]!.at <= now)) {
      const w = queue[i++]!;
      if (!w.settled) w.reject(new CommandTimeoutError(`no reply from Redis in ${timeoutMs} ms`));
    }
    if (i > 0) queue = queue.slice(i);
    if (queue.length === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return <T>(command: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { at: Date.now() + timeoutMs, settled: false, reject };
      queue.push(waiting);
      if (!timer) (timer = setInterval(sweep, sweepMs)).unref();
      command.then(
        (value) => {
          waiting.settled = true;
          resolve(value);
        },
        (error: unknown) => {
          waiting.settled = true;
          reject(error);
        },
      );
    });
}

export async function connectRedis({ url, cluster, log }: RedisConnectOptions): Promise<RedisHandles> {
  const onError = (role: string) => {
    let last = 0;
    return (err: Error) => {
      const now = Date.now();
      if (now - last > 5_000) log.warn({ err: err.message, role }, 'redis connection error; reconnecting');
      last = now;
    };
  };
  const restoredHandlers: Array<() => void> = [];
  const restored = () => {
    let first = true;
    return () => {
      if (first) first = false;
      else {
        log.info({}, 'redis subscriber restored');
        for (const h of restoredHandlers) h();
      }
    };
  };

  if (cluster) {
    const client = createCluster({
      rootNodes: url.split(',').map((u) => ({ url: u.trim() })),
      defaults: { socket, disableOfflineQueue: true },
    });
    client.on('error', onError('cluster'));
    await client.connect();
    const markRestored = restored();
    markRestored();
    // The cluster client re-subscribes sharded channels itself after a shard reconnects or moves.
    client.on('node-ready', () => markRestored());
    return {
      cluster: true,
      publish: (channel, message) => client.sPublish(channel, message),
      subscribe: (channel, listener) => client.sSubscribe(channel, listener),
      unsubscribe: (channel, listener) => client.sUnsubscribe(channel, listener),
      eval: scriptRunner(client),
      onSubscriberRestored: (h) => restoredHandlers.push(h),
      // The cluster client replaces a failed node connection itself; a silent-but-open one is not detected here.
      recycleCommands: () => undefined,
      quit: async () => {
        await client.close();
      },
    };
  }

  const newCommands = () => {
    const client = createClient({ url, socket, disableOfflineQueue: true });
    client.on('error', onError('commands'));
    return client;
  };
  let commands = newCommands();
  const subscriber = commands.duplicate();
  subscriber.on('error', onError('subscriber'));
  subscriber.on('ready', restored());
  await Promise.all([commands.connect(), subscriber.connect()]);
  const timed = commandDeadlines(COMMAND_TIMEOUT_MS);
  const runScript = scriptRunner({
    evalSha: (sha, options) => commands.evalSha(sha, options),
    eval: (script, options) => commands.eval(script, options),
  });
  let recycling = false;
  let closed = false;
  return {
    cluster: false,
    publish: (channel, message) => timed(commands.publish(channel, message)),
    subscribe: (channel, listener) => subscriber.subscribe(channel, listener),
    unsubscribe: (channel, listener) => subscriber.unsubscribe(channel, listener),
    eval: (script, keys, args) => timed(runScript(script, keys, args)),
    onSubscriberRestored: (h) => restoredHandlers.push(h),
    recycleCommands: () => {
      if (recycling || closed) return;
      recycling = true;
      log.warn({}, 'redis command connection unresponsive; opening a new one');
      const next = newCommands();
      next.connect().then(
        () => {
          const old = commands;
          commands = next;
          recycling = false;
          if (closed) void next.close().catch(() => undefined);
          old.destroy();
        },
        () => {
          recycling = false;
        },
      );
    },
    quit: async () => {
      closed = true;
      await Promise.allSettled([commands.close(), subscriber.close()]);
    },
  };
}
