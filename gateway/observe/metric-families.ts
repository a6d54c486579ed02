import type { Registry } from "prom-client";

// Counters and histograms the call path writes as plain numbers, exposed
// through prom-client's Registry (which formats them with everything else).
// prom-client's own children hash and validate their labels on every inc()
// and observe(), about 1 µs each; a call records seven values, so the hot
// path keeps a series object per label set instead, looked up once per key
// and cached by the caller (docs/DESIGN.md, "Observation").

export type Labels = Readonly<Record<string, string>>;

/** What prom-client's Registry reads of a metric. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
}

export class CounterFamily {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly all: CounterSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** A new series; the caller keeps it (one per label set). */
  series(labels: Labels): CounterSeries {
    const s = new CounterSeries(labels);
    this.all.push(s);
    return s;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values = this.all.map((s) => ({ labels: { ...s.labels }, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.all) s.value = 0;
  }
}

export class HistogramSeries {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/** Prometheus's (and go-grpc-prometheus's) default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HistogramFamily {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly all: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
    private readonly bounds: readonly number[] = DEFAULT_BUCKETS,
  ) {
    registry.registerMetric(this as never);
  }

  series(labels: Labels): HistogramSeries {
    const s = new HistogramSeries(labels, this.bounds);
    this.all.push(s);
    return s;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.all) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i];
        const le = i < this.bounds.length ? this.bounds[i] : "+Inf";
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.all) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
