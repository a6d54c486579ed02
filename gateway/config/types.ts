// Normalized configuration: what the gateway consumes after loading. Every
// default is filled in, durations are milliseconds and file references have
// been replaced by their contents, so nothing downstream touches YAML or disk.

export type UpstreamProtocol = "grpc" | "connect" | "grpc-web";

/** How request messages travel to a cluster's endpoints (the gateway decodes either answer). */
export type UpstreamCompression = "identity" | "gzip";

/** PEM contents (not paths): relative paths were resolved against the config file's folder. */
export interface TlsServerConfig {
  cert: string;
  key: string;
  clientCa?: string;
  requireClientCert: boolean;
}

export interface ListenerConfig {
  port: number;
  host: string;
  tls?: TlsServerConfig;
  /** This listener's own limits (merged over the top-level ones); undefined: the top-level `limits`. */
  limits?: ConnectionLimits;
}

/** Per connection, enforced by the listener (listener/). Durations in ms; a 0 timeout is off. */
export interface ConnectionLimits {
  /** Open connections on one listener; more are closed as they arrive. */
  maxConnections: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of each HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** From a connection's first byte (or the end of its last request) to a request's complete headers. */
  requestHeadersTimeoutMs: number;
  /** A connection with no request in flight is closed after this (GOAWAY on HTTP/2). */
  idleTimeoutMs: number;
  maxRequestHeadersBytes: number;
  maxHeadersCount: number;
  /** GOAWAY ENHANCE_YOUR_CALM past this many streams the client reset early (0: off). */
  maxPrematureResets: number;
}

/** `limits`: the connection limits every listener starts from, and the per-call ones. */
export interface Limits extends ConnectionLimits {
  maxMessageBytes: number;
  /** A call whose streams carry nothing either way for this long ends (0: off, the default). */
  streamIdleTimeoutMs: number;
  /** JSON request messages nested deeper than this are refused before they are parsed. */
  maxJsonDepth: number;
}

/** The overload guard: new calls get UNAVAILABLE with retry pushback while the process is past a threshold. */
export interface OverloadConfig {
  enabled: boolean;
  maxEventLoopDelayMs: number;
  /** Of V8's heap size limit. */
  maxHeapPercent: number;
  /** 0: no RSS watermark. */
  maxRssBytes: number;
  retryPushbackMs: number;
}

/** PEM contents (not paths). */
export interface UpstreamTlsConfig {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface EndpointConfig {
  /** As written, e.g. "[::1]:50051". */
  address: string;
  /** Without IPv6 brackets, e.g. "::1". */
  host: string;
  port: number;
  weight: number;
  /** 0 is the primary level; see cluster/balancer/priority-load.ts. */
  priority: number;
}

export interface ClusterConfig {
  name: string;
  protocol: UpstreamProtocol;
  http: "2" | "1.1";
  codec: "proto" | "json" | "same";
  /** gzip: request messages of at least COMPRESS_MIN_BYTES go compressed, and compressed answers are asked for. */
  compression: UpstreamCompression;
  tls?: UpstreamTlsConfig;
  timeoutMs?: number;
  /**
   * How long a new upstream connection may take to become usable (TCP, TLS,
   * and for HTTP/2 the server's SETTINGS); past it the attempt fails as
   * UNAVAILABLE and never left, so it can be retried elsewhere.
   */
  connectTimeoutMs: number;
  /** Static endpoints: always in the set. */
  endpoints: EndpointConfig[];
  /** Where more endpoints come from, followed live; undefined: static only. */
  discovery?: DiscoveryConfig;
  /** Balancing, breakers, retries, hedging, health: every default filled in (see resilience.ts). */
  resilience: ResilienceConfig;
}

/** One discovery provider's settings; durations in ms, file paths absolute. */
export type DiscoveryConfig =
  | { kind: "dns"; name: string; port: number | undefined; refreshMs: number; servers: string[] | undefined }
  | { kind: "etcd"; endpoints: string[]; prefix: string }
  | { kind: "kubernetes"; namespace: string; service: string; port: string | number }
  | { kind: "file"; path: string };

// Resilience settings per cluster. Status codes are gRPC numbers (Code),
// durations milliseconds. Sections that can be switched off keep their other
// values when off, so `enabled: false` never leaves a consumer without numbers.

export type BalancerKind = "weighted_round_robin" | "p2c_ewma" | "random" | HashBalancerKind;

/** Consistent-hash balancers: a call's key (see HashOnConfig) picks its endpoint. */
export type HashBalancerKind = "ring_hash" | "maglev";

export function isHashBalancer(kind: BalancerKind): kind is HashBalancerKind {
  return kind === "ring_hash" || kind === "maglev";
}

/** Where a call's hash key comes from: a request header (gRPC metadata), lower-case. */
export interface HashOnConfig {
  header: string;
}

export interface CircuitBreakerConfig {
  /** false only turns the breaker off; the maxInFlight cap applies either way. */
  enabled: boolean;
  errorThresholdPercentage: number;
  volumeThreshold: number;
  rollingWindowMs: number;
  resetTimeoutMs: number;
  maxInFlight: number;
}

export interface RetryPolicyConfig {
  /** false only stops retries after a call may have reached the upstream; calls that never left are still retried. */
  enabled: boolean;
  /** Including the first attempt. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  retryableStatusCodes: number[];
  maxReplayBytes: number;
}

export interface HedgingPolicyConfig {
  /** Including the first attempt. */
  maxAttempts: number;
  /** "auto": the method's recent `percentile` latency, at least minDelayMs. */
  hedgingDelayMs: number | "auto";
  percentile: number;
  minDelayMs: number;
  nonFatalStatusCodes: number[];
}

export interface RetryBudgetConfig {
  percent: number;
  minRetriesPerSecond: number;
}

export interface HealthCheckConfig {
  enabled: boolean;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  /** grpc.health.v1 service name; "" asks about the server as a whole. */
  service: string;
}

export interface OutlierDetectionConfig {
  enabled: boolean;
  consecutiveFailures: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  intervalMs: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
}

export interface ResilienceConfig {
  balancer: BalancerKind;
  /** The key of ring_hash and maglev; undefined for the other balancers. */
  hashOn: HashOnConfig | undefined;
  /** Envoy's overprovisioning factor: a priority level keeps all calls while healthy share × this ≥ 1. */
  overprovisioningFactor: number;
  /** 0 disables slow start. */
  slowStartMs: number;
  circuitBreaker: CircuitBreakerConfig;
  retryPolicy: RetryPolicyConfig;
  /** undefined: hedging off. */
  hedgingPolicy: HedgingPolicyConfig | undefined;
  retryBudget: RetryBudgetConfig;
  healthCheck: HealthCheckConfig;
  outlierDetection: OutlierDetectionConfig;
  /** Full method paths ("/pkg.Service/Method") safe to repeat beyond what the proto says. */
  idempotentMethods: string[];
}

export type RouteMatch = { service: string } | { method: string } | { prefix: string };

export interface RouteConfig {
  match: RouteMatch;
  cluster: string;
  timeoutMs?: number;
}

export interface CorsConfig {
  /** ["*"] for any origin. */
  allowedOrigins: string[];
  /** Access-Control-Allow-Credentials: true for allowed origins; never with "*" (semantics.ts refuses that). */
  allowCredentials: boolean;
}

export interface GatewayConfig {
  listeners: ListenerConfig[];
  admin?: { port: number; host: string };
  limits: Limits;
  overload: OverloadConfig;
  drainTimeoutMs: number;
  descriptorSets: Uint8Array[];
  cors: CorsConfig;
  clusters: Map<string, ClusterConfig>;
  routes: RouteConfig[];
}
