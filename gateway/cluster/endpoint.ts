import type { ClusterConfig, EndpointConfig } from "../config/types.js";
import type { HttpTransport } from "../transport/contract.js";
import { createTransport } from "../transport/create.js";
import { PeakEwma } from "./balancer/peak-ewma.js";
import { slowStartFactor } from "./balancer/slow-start.js";
import { EndpointBreaker } from "./breaker.js";
import { HealthChecker } from "./health-check.js";
import { type OutlierDetector, newOutlierHost, type OutlierHost } from "./outlier.js";

/**
 * One upstream address with everything the gateway knows about its state.
 * It lives in its cluster's EndpointSet, across config snapshots: weight and
 * priority may change in place; breaker, EWMA, outlier and health state and
 * the pooled connections stay.
 */
export class Endpoint {
  readonly address: string;
  weight: number;
  /** 0 is the primary level; higher levels take what lower ones cannot (balancer/priority-load.ts). */
  priority: number;
  readonly label: string;
  readonly transport: HttpTransport;
  readonly breaker: EndpointBreaker;
  readonly health: HealthChecker | undefined;
  readonly outlier: OutlierHost = newOutlierHost();
  readonly ewma = new PeakEwma();
  /** Attempts it takes at once (circuitBreaker.maxInFlight). */
  readonly maxInFlight: number;
  private readonly slowStartMs: number;
  /** Smooth WRR state. */
  current = 0;
  inflight = 0;
  /** When the endpoint last came (back) into service: slow start ramps from here. */
  private upSince = performance.now();
  /** When it last answered an attempt (its first event), or got its first one. */
  private heardAt: number | undefined;
  /** Removed from its set: takes no new calls, closes once the last one is done. */
  private draining = false;
  private closing: Promise<void> | undefined;
  private readonly onClosed: Array<() => void> = [];

  constructor(
    cluster: ClusterConfig,
    ep: EndpointConfig,
    private readonly outliers: OutlierDetector,
    onChange: (ep: Endpoint, what: string) => void,
    /** A TCP connection to this endpoint could not be made: discovery may want to look again. */
    onConnectFailure?: (ep: Endpoint, err: Error) => void,
  ) {
    this.address = ep.address;
    this.weight = ep.weight;
    this.priority = ep.priority;
    this.label = `cluster "${cluster.name}" endpoint ${ep.address}`;
    this.transport = createTransport(
      cluster,
      ep,
      this.label,
      onConnectFailure && ((err) => onConnectFailure(this, err)),
    );
    const r = cluster.resilience;
    this.maxInFlight = r.circuitBreaker.maxInFlight;
    this.slowStartMs = r.slowStartMs;
    this.breaker = new EndpointBreaker(r.circuitBreaker, this.label);
    this.breaker.on("open", () => onChange(this, "circuit breaker opened"));
    this.breaker.on("close", () => {
      this.cameBack();
      onChange(this, "circuit breaker closed");
    });
    this.health = r.healthCheck.enabled
      ? new HealthChecker(
          { transport: this.transport, protocol: cluster.protocol, label: this.label },
          r.healthCheck,
          (healthy, reason) => {
            if (healthy) {
              this.cameBack();
              // Proven down, then proven back (a restart): the ejection from the
              // attempts that found it down no longer says anything.
              this.outliers.uneject(this.outlier);
            }
            onChange(this, `${healthy ? "healthy" : "unhealthy"}: ${reason}`);
          },
        )
      : undefined;
  }

  cameBack(): void {
    this.upSince = performance.now();
  }

  /** Why this endpoint cannot take a call now, or undefined when it can. */
  unavailableReason(ignoreEjection = false): string | undefined {
    if (this.draining) return "draining";
    if (this.health && !this.health.healthy) return "failing health checks";
    if (!ignoreEjection && this.outliers.isEjected(this.outlier)) return "ejected as an outlier";
    if (!this.breaker.allowsRequest()) return "circuit breaker open";
    if (this.inflight >= this.maxInFlight) return `at maxInFlight (${this.maxInFlight})`;
    return undefined;
  }

  /**
   * Whether it counts toward its priority level's health (Envoy's "healthy"):
   * passing health checks, not ejected, breaker not open. Draining is out
   * entirely; an endpoint at its in-flight cap is busy, not unhealthy.
   */
  isHealthy(ignoreEjection = false): boolean {
    if (this.draining || (this.health && !this.health.healthy)) return false;
    if (!ignoreEjection && this.outliers.isEjected(this.outlier)) return false;
    return this.breaker.allowsRequest();
  }

  effectiveWeight(now: number): number {
    return this.weight * slowStartFactor(now - this.upSince, this.slowStartMs);
  }

  /** An attempt starts on this endpoint. */
  enter(): void {
    this.inflight++;
    this.heardAt ??= performance.now();
  }

  /** An attempt on this endpoint got its first answer after `latencyMs`. */
  answered(latencyMs: number): void {
    this.heardAt = performance.now();
    this.ewma.observe(latencyMs);
  }

  /** How long the endpoint has answered nothing while it had attempts. */
  silentFor(now: number): number {
    return this.heardAt === undefined ? 0 : now - this.heardAt;
  }

  /**
   * An attempt on this endpoint ended with `code`; `counts` is false for
   * cancels, which are the gateway's or the client's doing.
   */
  leave(success: boolean, counts: boolean): void {
    this.inflight--;
    if (counts) this.outliers.record(this.outlier, success);
    if (this.draining && this.inflight === 0) void this.close();
  }

  start(): void {
    this.health?.start();
  }

  /**
   * Out of the set: no new calls; the ones in flight finish, then the
   * connections close (GOAWAY on HTTP/2).
   */
  drain(): Promise<void> {
    this.draining = true;
    this.health?.stop();
    return this.inflight === 0 ? this.close() : new Promise((resolve) => this.onClosed.push(resolve));
  }

  get isDraining(): boolean {
    return this.draining;
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.health?.stop();
      this.breaker.shutdown();
      await this.transport.close();
      for (const f of this.onClosed.splice(0)) f();
    })());
  }
}
