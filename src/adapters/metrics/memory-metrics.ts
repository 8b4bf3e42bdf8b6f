/** The Metrics port in memory, for tests: counters and observations kept by name and label set. */
import type { CounterName, GaugeName, GaugeSample, HistogramName, Labels, Metrics } from '../../core/metrics.js';

const key = (name: string, labels?: Labels) =>
  labels && Object.keys(labels).length > 0
    ? `${name}{${Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}}`
    : name;

export class MemoryMetrics implements Metrics {
  readonly counters = new Map<string, number>();
  readonly observations = new Map<string, number[]>();
  private readonly gauges = new Map<string, Array<() => number | GaugeSample[]>>();

  count(name: CounterName, labels?: Labels, by = 1): void {
    const k = key(name, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  observe(name: HistogramName, seconds: number, labels?: Labels): void {
    const k = key(name, labels);
    const list = this.observations.get(k) ?? [];
    list.push(seconds);
    this.observations.set(k, list);
  }

  startTimer(name: HistogramName, labels?: Labels): (labels?: Labels) => void {
    const started = performance.now();
    return (more) => this.observe(name, (performance.now() - started) / 1000, more ? { ...labels, ...more } : labels);
  }

  gauge(name: GaugeName, read: () => number | GaugeSample[]): void {
    const list = this.gauges.get(name) ?? [];
    list.push(read);
    this.gauges.set(name, list);
  }

  /** A counter's value (0 when never counted), e.g. `counter('errors', { code: 'UNAVAILABLE', transport: 'ws' })`. */
  counter(name: CounterName, labels?: Labels): number {
    return this.counters.get(key(name, labels)) ?? 0;
  }

  /** Every observation of a histogram with exactly these labels. */
  observed(name: HistogramName, labels?: Labels): number[] {
    return this.observations.get(key(name, labels)) ?? [];
  }

  /** The gauge's readers evaluated now (numbers summed). */
  read(name: GaugeName): number | GaugeSample[] | undefined {
    const readers = this.gauges.get(name);
    if (!readers) return undefined;
    const values = readers.map((r) => r());
    return values.every((v) => typeof v === 'number') ? (values as number[]).reduce((a, b) => a + b, 0) : values.flat() as GaugeSample[];
  }
}
