/**
 * Redis connections for one natter instance: a command connection and a subscriber, on a single server or a
 * Redis Cluster (sharded Pub/Sub). Every client has an error handler: an outage is logged, never a crash.
 */
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
      eval: (script, keys, args) => client.eval(script, { keys, arguments: args }),
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
  const timed = () => commands.withCommandOptions({ timeout: COMMAND_TIMEOUT_MS });
  let recycling = false;
  let closed = false;
  return {
    cluster: false,
    publish: (channel, message) => timed().publish(channel, message),
    subscribe: (channel, listener) => subscriber.subscribe(channel, listener),
    unsubscribe: (channel, listener) => subscriber.unsubscribe(channel, listener),
    eval: (script, keys, args) => timed().eval(script, { keys, arguments: args }),
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
