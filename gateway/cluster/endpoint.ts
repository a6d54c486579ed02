import type { ClusterConfig, EndpointConfig } from "../config/types.js";
import type { HttpTransport } from "../transport/contract.js";
import { createTransport } from "../transport/create.js";
import { PeakEwma } from "./balancer/peak-ewma.js";
import { slowStartFactor } from "./balancer/slow-start.js";
import { EndpointBreaker } from "./breaker.js";
import { HealthChecker } from "./health-check.js";
import { EndpointStats } from "./endpoint-stats.js";
import type { EndpointHealth, HealthBoard } from "./health-board.js";
import { type OutlierDetector, newOutlierHost, type OutlierHost } from "./outlier.js";

/** A change of an endpoint's health or breaker, as cluster events carry it. */
export type EndpointChange =
  { event: "health"; state: "healthy" | "unhealthy"; reason: string } | { event: "breaker"; state: "open" | "closed" };

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
  readonly health: EndpointHealth | undefined;
  readonly outlier: OutlierHost = newOutlierHost();
  readonly ewma = new PeakEwma();
  /** Recent attempts' rate, errors and latency, for the admin API. */
  readonly stats = new EndpointStats();
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
  /** Drained by an operator (the admin API): takes no new calls, keeps its connections and health checks. */
  private drainedByOperator = false;
  private closing: Promise<void> | undefined;
  private readonly onClosed: Array<() => void> = [];

  constructor(
    cluster: ClusterConfig,
    ep: EndpointConfig,
    private readonly outliers: OutlierDetector,
    onChange: (ep: Endpoint, what: string, change: EndpointChange) => void,
    /** A TCP connection to this endpoint could not be made: discovery may want to look again. */
    onConnectFailure?: (ep: Endpoint, err: Error) => void,
    /** Health checked elsewhere (the primary, with workers): follow this board instead of checking. */
    board?: HealthBoard,
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
    this.breaker.on("open", () => onChange(this, "circuit breaker opened", { event: "breaker", state: "open" }));
    this.breaker.on("close", () => {
      this.cameBack();
      onChange(this, "circuit breaker closed", { event: "breaker", state: "closed" });
    });
    const healthChanged = (healthy: boolean) => {
      if (!healthy) return;
      this.cameBack();
      // Proven down, then proven back (a restart): the ejection from the
      // attempts that found it down no longer says anything.
      this.outliers.uneject(this.outlier);
    };
    if (!r.healthCheck.enabled) this.health = undefined;
    // The primary logs what its checks find, once for every worker.
    else if (board) this.health = board.follow(cluster.name, ep.address, healthChanged);
    else
      this.health = new HealthChecker(
        { transport: this.transport, protocol: cluster.protocol, label: this.label },
        r.healthCheck,
        (healthy, reason) => {
          healthChanged(healthy);
          const state = healthy ? "healthy" : "unhealthy";
          onChange(this, `${state}: ${reason}`, { event: "health", state, reason });
        },
      );
  }

  cameBack(): void {
    this.upSince = performance.now();
  }

  /** Why this endpoint cannot take a call now, or undefined when it can. */
  unavailableReason(ignoreEjection = false): string | undefined {
    if (this.draining) return "draining";
    if (this.drainedByOperator) return "drained by an operator";
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
    if (this.isDraining || (this.health && !this.health.healthy)) return false;
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

  /** Taking no new calls: removed from its set, or drained by an operator. */
  get isDraining(): boolean {
    return this.draining || this.drainedByOperator;
  }

  /**
   * An operator's drain (on) or undrain (off). Calls in flight finish either
   * way; back in service, the endpoint ramps up again as after a recovery.
   */
  setDrained(on: boolean): void {
    if (on === this.drainedByOperator) return;
    this.drainedByOperator = on;
    if (!on) this.cameBack();
  }

  get drained(): boolean {
    return this.drainedByOperator;
  }

  /** Ejected by outlier detection now. */
  get ejected(): boolean {
    return this.outliers.isEjected(this.outlier);
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
