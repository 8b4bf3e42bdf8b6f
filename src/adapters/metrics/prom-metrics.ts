/**
 * The Metrics port on prom-client: one private Registry per natter instance (tests run several in one process),
 * collectors built from the core's catalogue, plus prom-client's default process metrics (event-loop lag, memory,
 * CPU, handles, GC) under their standard names.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LocalHistogram, labelKey } from './local-histogram.js';
import { METRICS, type CounterName, type GaugeName, type GaugeSample, type HistogramName, type Labels, type Metrics } from '../../core/metrics.js';

/**
 * How often prom-client's event-loop monitor samples (ms). Its `nodejs_eventloop_lag_*` gauges are the intervals
 * between samples, so an idle loop reads this much: the loop's own delay is the figure minus this.
 */
export const EVENT_LOOP_SAMPLE_MS = 20;

export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  /**
   * Counter values are kept here, per label set, and handed to prom-client when it collects (a scrape): a
   * labelled prom-client `inc` hashes and validates its labels on every call (~160 ns), and the message path
   * counts several times per message.
   */
  private readonly counts = new Map<string, Map<string, { labels: Labels | undefined; value: number }>>();
  /** Histograms count the same way (local-histogram.ts). */
  private readonly histograms = new Map<string, LocalHistogram>();
  private readonly gauges = new Map<string, Array<() => number | GaugeSample[]>>();

  constructor(options: { defaultLabels?: Record<string, string>; processMetrics?: boolean } = {}) {
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    for (const [key, spec] of Object.entries(METRICS)) {
      const base = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
      if (spec.kind === 'counter') {
        const series = new Map<string, { labels: Labels | undefined; value: number }>();
        this.counts.set(key, series);
        new Counter({
          ...base,
          collect() {
            this.reset();
            for (const { labels, value } of series.values()) {
              if (labels) this.inc({ ...labels }, value);
              else this.inc(value);
            }
          },
        });
      }
      else if (spec.kind === 'histogram') {
        const histogram = new LocalHistogram(spec.name, spec.help, spec.buckets ?? [], spec.labels.length > 0);
        this.registry.registerMetric(histogram as never);
        this.histograms.set(key, histogram);
      }
      else {
        const readers: Array<() => number | GaugeSample[]> = [];
        this.gauges.set(key, readers);
        new Gauge({
          ...base,
          collect() {
            this.reset();
            for (const read of readers) {
              const value = read();
              if (typeof value === 'number') this.set(value);
              else for (const sample of value) this.set({ ...sample.labels }, sample.value);
            }
          },
        });
      }
    }
  }

  count(name: CounterName, labels?: Labels, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`counter ${name}: cannot add ${by}`);
    const series = this.counts.get(name)!;
    const key = labelKey(labels);
    const entry = series.get(key);
    if (entry) entry.value += by;
    else series.set(key, { labels: labels && { ...labels }, value: by });
  }

  observe(name: HistogramName, seconds: number, labels?: Labels): void {
    this.histograms.get(name)!.observe(seconds, labels);
  }

  startTimer(name: HistogramName, labels?: Labels): (labels?: Labels) => void {
    const started = process.hrtime.bigint();
    return (more) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observe(name, seconds, more ? { ...labels, ...more } : labels);
    };
  }

  gauge(name: GaugeName, read: () => number | GaugeSample[]): void {
    this.gauges.get(name)!.push(read);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
