import type { OutlierDetectionConfig } from "../config/types.js";

/** Per-endpoint outlier state; plain data so the endpoint can own it. */
export interface OutlierHost {
  /** Clock time (the detector's `now`) until which the host is out; 0 when in service. */
  ejectedUntil: number;
  /**
   * The ejection-time multiplier: +1 per ejection, −1 per interval spent in
   * service (gRPC A50), so a host that keeps failing stays out longer and
   * one that recovered starts short again.
   */
  ejectionCount: number;
  /** How many times it was ejected, ever (the admin API shows it). */
  ejections: number;
  consecutiveFailures: number;
  /** Counters for the current interval; sweep() resets them. */
  successes: number;
  failures: number;
}

export function newOutlierHost(): OutlierHost {
  return { ejectedUntil: 0, ejectionCount: 0, ejections: 0, consecutiveFailures: 0, successes: 0, failures: 0 };
}

/**
 * Passive outlier detection after gRPC A50 and Envoy: consecutive-failure
 * ejection as results come in, success-rate ejection once per interval,
 * never more than maxEjectionPercent of the hosts out at once, ejection time
 * growing with repeats.
 */
export class OutlierDetector {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: OutlierDetectionConfig,
    private readonly hosts: () => readonly OutlierHost[],
    private readonly now: () => number = () => performance.now(),
    private readonly onEject?: (h: OutlierHost, reason: string) => void,
  ) {}

  /** Counts one call's outcome; consecutive-failure ejection happens here, immediately. */
  record(host: OutlierHost, success: boolean): void {
    if (!this.cfg.enabled) return;
    if (success) {
      host.successes++;
      host.consecutiveFailures = 0;
      return;
    }
    host.failures++;
    host.consecutiveFailures++;
    const limit = this.cfg.consecutiveFailures;
    if (limit > 0 && host.consecutiveFailures >= limit && !this.isEjected(host)) {
      this.eject(host, `${host.consecutiveFailures} consecutive failures`);
    }
  }

  isEjected(host: OutlierHost): boolean {
    return host.ejectedUntil > this.now();
  }

  /**
   * The per-interval pass: success-rate ejection, then un-ejection of hosts
   * whose time is up and decay of the others' multipliers, then a fresh
   * interval (A50's order).
   */
  sweep(): void {
    if (!this.cfg.enabled) return;
    const hosts = this.hosts();
    this.successRateEjections(hosts);
    const now = this.now();
    for (const h of hosts) {
      if (h.ejectedUntil === 0) {
        if (h.ejectionCount > 0) h.ejectionCount--;
      } else if (h.ejectedUntil <= now) {
        h.ejectedUntil = 0;
        // Back in service with a clean slate: failures from before the
        // ejection must not eject it again on the first new one.
        h.consecutiveFailures = 0;
      }
    }
    for (const h of hosts) {
      h.successes = 0;
      h.failures = 0;
    }
  }

  private successRateEjections(hosts: readonly OutlierHost[]): void {
    const volume = Math.max(1, this.cfg.successRateRequestVolume);
    const candidates = hosts.filter((h) => h.successes + h.failures >= volume);
    // Too few busy hosts make the statistics meaningless.
    if (candidates.length === 0 || candidates.length < this.cfg.successRateMinimumHosts) return;
    const rates = candidates.map((h) => h.successes / (h.successes + h.failures));
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const stdev = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length);
    // A plain multiplier (1.9), not Envoy's thousandths (1900).
    const threshold = mean - this.cfg.successRateStdevFactor * stdev;
    candidates.forEach((h, i) => {
      if (rates[i] < threshold && !this.isEjected(h)) {
        this.eject(
          h,
          `success rate ${pct(rates[i])} is below the cluster's threshold of ${pct(threshold)} ` +
            `(mean ${pct(mean)} − ${this.cfg.successRateStdevFactor} × stdev ${pct(stdev)})`,
        );
      }
    });
  }

  /**
   * Back in service before its time is up: active health checks saw the
   * host down and now see it back (Envoy's successful_active_health_check_uneject_host).
   * The multiplier stays, so a host that keeps falling over stays out longer.
   */
  uneject(host: OutlierHost): void {
    if (host.ejectedUntil === 0) return;
    host.ejectedUntil = 0;
    host.consecutiveFailures = 0;
  }

  /** Ejects unless that would take out too many hosts. */
  private eject(host: OutlierHost, reason: string): void {
    const hosts = this.hosts();
    if (hosts.length === 0) return;
    // Envoy and A50 look at the share already out: while it is below the
    // limit one more may go, so with few hosts even 10% lets one go.
    const ejected = hosts.filter((h) => this.isEjected(h)).length;
    if ((ejected * 100) / hosts.length >= this.cfg.maxEjectionPercent) return;
    host.ejectionCount++;
    host.ejections++;
    const base = this.cfg.baseEjectionTimeMs;
    const ms = Math.min(base * host.ejectionCount, Math.max(base, this.cfg.maxEjectionTimeMs));
    host.ejectedUntil = this.now() + ms;
    host.consecutiveFailures = 0;
    this.onEject?.(host, `${reason}; ejected for ${Math.round(ms)} ms`);
  }

  start(): void {
    if (this.timer || !this.cfg.enabled) return;
    this.timer = setInterval(() => this.sweep(), Math.max(1, this.cfg.intervalMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
