import { demoDescriptors } from "../../gateway/demo.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../gateway/server.js";
import type { ClusterConfig, GatewayConfig, TlsServerConfig, UpstreamProtocol } from "../../gateway/config/types.js";
import { defaultResilience } from "../../gateway/config/resilience.js";
import type { Limits, OverloadConfig, ResilienceConfig } from "../../gateway/config/types.js";
import { defaultLimits, defaultOverload } from "../../gateway/config/limits.js";

export interface Fixture {
  replicas: Replica[];
  gateway: Gateway;
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Overrides of the cluster's resilience defaults. */
  resilience?: Partial<ResilienceConfig>;
  protocol?: UpstreamProtocol;
  http?: "2" | "1.1";
  codec?: ClusterConfig["codec"];
  compression?: ClusterConfig["compression"];
  weights?: number[];
  /** Priority level of each replica, in the order of `weights` (default 0 for all). */
  priorities?: number[];
  maxMessageBytes?: number;
  timeoutMs?: number;
  /** Extra endpoints that are not replicas (e.g. a closed port). */
  extraEndpoints?: string[];
  drainTimeoutMs?: number;
  /** TLS on the gateway's listener (PEM contents); `url` then starts with https://. */
  listenerTls?: TlsServerConfig;
  /** Top-level config keys to set (admin, metrics, logging, tracing...). */
  config?: Partial<GatewayConfig>;
  /** Options for startGateway beyond the demo descriptors. */
  gatewayOptions?: GatewayOptions;
  /** Over the default limits (maxMessageBytes above wins over limits.maxMessageBytes). */
  limits?: Partial<Limits>;
  /** Over the default overload guard settings. */
  overload?: Partial<OverloadConfig>;
}

/** Real replicas and a real gateway on ephemeral loopback ports. */
export async function startFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const weights = opts.weights ?? [1];
  const replicas = await Promise.all(weights.map((_, i) => startReplica({ name: `r${i + 1}` })));
  const endpoints = replicas.map((r, i) => ({
    address: r.address,
    host: "127.0.0.1",
    port: r.port,
    weight: weights[i],
    priority: opts.priorities?.[i] ?? 0,
  }));
  for (const a of opts.extraEndpoints ?? []) {
    const [host, port] = a.split(":");
    endpoints.push({ address: a, host, port: Number(port), weight: 1, priority: 0 });
  }
  const cluster: ClusterConfig = {
    name: "echo",
    protocol: opts.protocol ?? "grpc",
    http: opts.http ?? "2",
    codec: opts.codec ?? "proto",
    compression: opts.compression ?? "identity",
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: 5000,
    endpoints,
    // Health checks off unless a test asks: a test that hangs its only replica
    // wants to see the call's deadline, not the endpoint declared unhealthy.
    resilience: {
      ...defaultResilience(),
      healthCheck: { ...defaultResilience().healthCheck, enabled: false },
      ...opts.resilience,
    },
  };
  const config: GatewayConfig = {
    listeners: [{ port: 0, host: "127.0.0.1", tls: opts.listenerTls }],
    limits: { ...defaultLimits(), ...opts.limits, maxMessageBytes: opts.maxMessageBytes ?? 4 * 1024 * 1024 },
    overload: { ...defaultOverload(), ...opts.overload },
    drainTimeoutMs: opts.drainTimeoutMs ?? 2000,
    descriptorSets: [],
    cors: { allowedOrigins: ["*"], allowCredentials: false },
    clusters: new Map([["echo", cluster]]),
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    ...opts.config,
  };
  const gateway = await startGateway(config, { descriptors: demoDescriptors, ...opts.gatewayOptions });
  const port = gateway.ports[0];
  return {
    replicas,
    gateway,
    port,
    url: `${opts.listenerTls ? "https" : "http"}://127.0.0.1:${port}`,
    close: async () => {
      await gateway.close();
      await Promise.all(replicas.map((r) => r.close()));
    },
  };
}
