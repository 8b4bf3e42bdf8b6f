/**
 * The Metrics port: what the core (and the transport) count and time, named in the domain. The catalogue below is
 * the single list of natter's own metrics; the Prometheus adapter builds its collectors from it and
 * docs/operations.md documents every name (a test checks it). No vendor type appears here.
 */

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricSpec {
  kind: MetricKind;
  /** The exported (Prometheus) name. */
  name: string;
  help: string;
  labels: readonly string[];
  /** Histogram bucket upper bounds (seconds). */
  buckets?: readonly number[];
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const METRICS = {
  // ---- counters --------------------------------------------------------------------------------------------
  messagesReceived: { kind: 'counter', name: 'natter_messages_received_total', help: 'message.send commands received from local sessions', labels: [] },
  messagesPersisted: { kind: 'counter', name: 'natter_messages_persisted_total', help: 'Messages committed to the store (new rows; retries answered from the store are not counted)', labels: ['type'] },
  messagesDuplicate: { kind: 'counter', name: 'natter_messages_duplicate_total', help: 'Sends answered with the first ack because their client_msg_id was already stored', labels: [] },
  messagesDelivered: { kind: 'counter', name: 'natter_messages_delivered_total', help: 'Message pushes written to local sessions (live fan-out or replay from the store)', labels: ['path'] },
  brokerPublished: { kind: 'counter', name: 'natter_broker_published_total', help: 'Envelopes handed to the broker', labels: ['kind'] },
  brokerPublishFailures: { kind: 'counter', name: 'natter_broker_publish_failures_total', help: 'Envelopes the broker refused (healed from the store)', labels: ['kind'] },
  brokerReceived: { kind: 'counter', name: 'natter_broker_received_total', help: 'Envelopes received from the broker by this instance', labels: ['kind'] },
  gapFills: { kind: 'counter', name: 'natter_gap_fills_total', help: 'Room feed gaps healed by reading the store (a lost or late broker message, or a stored head the periodic check found still unreached at the next check)', labels: [] },
  resumes: { kind: 'counter', name: 'natter_resumes_total', help: 'room.join with since (a client resuming after a disconnect)', labels: [] },
  wsCloses: { kind: 'counter', name: 'natter_ws_closes_total', help: 'WebSocket connections closed by the server, by close code name (SLOW_CONSUMER, PROTOCOL_VIOLATION, TOKEN_EXPIRED, SERVER_DRAINING, …; HEARTBEAT_TIMEOUT when cut without a close frame)', labels: ['reason'] },
  upgradesRefused: { kind: 'counter', name: 'natter_ws_upgrades_refused_total', help: 'WebSocket upgrades refused with an HTTP status (403 origin, 429 connection caps and connect rate, 503 draining or unavailable, 404 wrong path)', labels: ['status'] },
  errors: { kind: 'counter', name: 'natter_errors_total', help: 'Error replies sent to clients, by catalogue code and transport', labels: ['code', 'transport'] },
  // ---- histograms (seconds) --------------------------------------------------------------------------------
  ackLatency: { kind: 'histogram', name: 'natter_ack_latency_seconds', help: 'message.send received -> committed and acked', labels: [], buckets: LATENCY_BUCKETS },
  publishDeliverLatency: { kind: 'histogram', name: 'natter_publish_deliver_latency_seconds', help: 'Broker publish (any instance) -> pushed to this instance\'s sessions', labels: [], buckets: LATENCY_BUCKETS },
  brokerLag: { kind: 'histogram', name: 'natter_broker_lag_seconds', help: 'Broker publish (any instance) -> received by this instance', labels: [], buckets: LATENCY_BUCKETS },
  dbQuery: { kind: 'histogram', name: 'natter_db_query_seconds', help: 'Database statements (query) and write transactions (transaction, a group commit)', labels: ['kind', 'outcome'], buckets: LATENCY_BUCKETS },
  // ---- gauges (read when scraped) ---------------------------------------------------------------------------
  connections: { kind: 'gauge', name: 'natter_connections', help: 'Open WebSocket connections', labels: [] },
  authenticatedUsers: { kind: 'gauge', name: 'natter_authenticated_users', help: 'Distinct users with an authenticated connection here', labels: [] },
  sessions: { kind: 'gauge', name: 'natter_sessions', help: 'Authenticated WebSocket sessions here', labels: [] },
  localRooms: { kind: 'gauge', name: 'natter_rooms_local', help: 'Rooms with local members (one broker subscription each)', labels: [] },
  dbPool: { kind: 'gauge', name: 'natter_db_pool_connections', help: 'PostgreSQL pool connections by state (total, idle, waiting clients); absent on SQLite', labels: ['state'] },
  brokerMalformed: { kind: 'gauge', name: 'natter_broker_malformed_envelopes', help: 'Envelopes from Redis that failed validation since start (logged, ignored)', labels: [] },
  draining: { kind: 'gauge', name: 'natter_draining', help: '1 while the instance drains for shutdown (not ready), else 0', labels: [] },
} as const satisfies Record<string, MetricSpec>;

type Catalogue = typeof METRICS;
type OfKind<K extends MetricKind> = { [N in keyof Catalogue]: Catalogue[N]['kind'] extends K ? N : never }[keyof Catalogue];

export type CounterName = OfKind<'counter'>;
export type HistogramName = OfKind<'histogram'>;
export type GaugeName = OfKind<'gauge'>;
export type Labels = Readonly<Record<string, string>>;
export interface GaugeSample {
  labels?: Labels;
  value: number;
}

/**
 * Counters and observations. Every method is cheap and never throws; the zero implementation (NO_METRICS) does
 * nothing. `startTimer` measures on a monotonic clock owned by the adapter and observes seconds when called.
 */
export interface Metrics {
  count(name: CounterName, labels?: Labels, by?: number): void;
  observe(name: HistogramName, seconds: number, labels?: Labels): void;
  startTimer(name: HistogramName, labels?: Labels): (labels?: Labels) => void;
  /** A value read each time the metrics are scraped (a number, or one sample per label set). */
  gauge(name: GaugeName, read: () => number | GaugeSample[]): void;
}

const nothing = () => undefined;

export const NO_METRICS: Metrics = {
  count: nothing,
  observe: nothing,
  startTimer: () => nothing,
  gauge: nothing,
};
