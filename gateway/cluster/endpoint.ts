import type { ClusterConfig, EndpointConfig } from "../config/types.js";
import type { HttpTransport } from "./transport.js";
import { H2Transport } from "./transport-h2.js";
import { H1Transport } from "./transport-h1.js";
import { PeakEwma } from "./balancer/peak-ewma.js";
import { slowStartFactor } from "./balancer/slow-start.js";
import { EndpointBreaker } from "./breaker.js";
import { HealthChecker } from "./health-check.js";
import { newOutlierHost, type OutlierHost } from "./outlier.js";

/** One upstream address with everything the gateway knows about its state. */
export class Endpoint {
  readonly address: string;
  readonly weight: number;
  readonly label: string;
  readonly transport: HttpTransport;
  readonly breaker: EndpointBreaker;
  readonly health: HealthChecker | undefined;
  readonly outlier: OutlierHost = newOutlierHost();
  readonly ewma = new PeakEwma();
  private readonly maxInFlight: number;
  private readonly slowStartMs: number;
  /** Smooth WRR state. */
  current = 0;
  inflight = 0;
  /** When the endpoint last came (back) into service: slow start ramps from here. */
  private upSince = performance.now();

  constructor(cluster: ClusterConfig, ep: EndpointConfig, onChange: (ep: Endpoint, what: string) => void) {
    this.address = ep.address;
    this.weight = ep.weight;
    this.label = `cluster "${cluster.name}" endpoint ${ep.address}`;
    this.transport = createTransport(cluster, ep, this.label);
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
      ? new HealthChecker({ transport: this.transport, protocol: cluster.protocol, label: this.label }, r.healthCheck, (healthy, reason) => {
          if (healthy) this.cameBack();
          onChange(this, `${healthy ? "healthy" : "unhealthy"}: ${reason}`);
        })
      : undefined;
  }

  cameBack(): void {
    this.upSince = performance.now();
  }

  /** Why this endpoint cannot take a call now, or undefined when it can. */
  unavailableReason(ejected: boolean): string | undefined {
    if (this.health && !this.health.healthy) return "failing health checks";
    if (ejected) return "ejected as an outlier";
    if (!this.breaker.allowsRequest()) return "circuit breaker open";
    if (this.inflight >= this.maxInFlight) return `at maxInFlight (${this.maxInFlight})`;
    return undefined;
  }

  effectiveWeight(now: number): number {
    return this.weight * slowStartFactor(now - this.upSince, this.slowStartMs);
  }

  start(): void {
    this.health?.start();
  }

  async close(): Promise<void> {
    this.health?.stop();
    this.breaker.shutdown();
    await this.transport.close();
  }
}

function createTransport(cluster: ClusterConfig, ep: EndpointConfig, label: string): HttpTransport {
  const t = cluster.tls;
  const tls = t && { ca: t.ca, cert: t.cert, key: t.key, servername: t.serverName, rejectUnauthorized: !t.insecureSkipVerify };
  if (cluster.http === "1.1") return new H1Transport({ host: ep.host, port: ep.port, label, tls });
  const host = ep.host.includes(":") ? `[${ep.host}]` : ep.host;
  return new H2Transport({ origin: `${t ? "https" : "http"}://${host}:${ep.port}`, label, tls });
}
