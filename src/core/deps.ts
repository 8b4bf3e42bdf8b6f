import type {
  AccessTokens,
  Broker,
  Clock,
  IdGenerator,
  OpaqueTokens,
  PasswordHasher,
  Presence,
  RateLimiter,
  RateRule,
  Store,
} from './ports.js';
import type { Metrics } from './metrics.js';

/** Structured logger (pino-compatible). Secrets never go into `obj` or `msg`. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Limits {
  /** Max message body length in Unicode code points. */
  maxBodyChars: number;
  /** Messages a join without `since` replays. */
  historyOnJoin: number;
  /** Page size for catch-up reads from the store. */
  catchUpPage: number;
  refreshTokenTtlSeconds: number;
  /** Rooms one connection may have joined at once. */
  maxRoomsPerSession: number;
  /** Per user, shared across instances when the limiter is. */
  messageRate: RateRule;
  typingRate: RateRule;
  /** Failed logins per account and per client address (never a lock-out: the bucket refills). */
  loginFailureRate: RateRule;
}

/** Everything the core needs, passed as one object from the composition root. */
export interface CoreDeps {
  store: Store;
  broker: Broker;
  presence: Presence;
  clock: Clock;
  ids: IdGenerator;
  hasher: PasswordHasher;
  accessTokens: AccessTokens;
  opaqueTokens: OpaqueTokens;
  rateLimiter: RateLimiter;
  limits: Limits;
  log: Logger;
  /** Counters and timings (docs/operations.md); absent: nothing is measured. */
  metrics?: Metrics;
}
