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
  /**
   * With workers: each binds the port itself (SO_REUSEPORT) where Node and the
   * OS can (listener/reuse-port.ts). Set only when true, so configs without it
   * compare as before.
   */
  reusePort?: true;
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
  /** Where the cluster's API is learned from at run time; undefined: only the built-in files and descriptorSets. */
  descriptors?: DescriptorSourceConfig;
  /** Balancing, breakers, retries, hedging, health: every default filled in (see resilience.ts). */
  resilience: ResilienceConfig;
}

/** One discovery provider's settings; durations in ms, file paths absolute. */
export type DiscoveryConfig =
  | { kind: "dns"; name: string; port: number | undefined; refreshMs: number; servers: string[] | undefined }
  | { kind: "etcd"; endpoints: string[]; prefix: string }
  | { kind: "kubernetes"; namespace: string; service: string; port: string | number }
  | { kind: "file"; path: string };

/** `descriptors: reflection`: ask the endpoints' server reflection every refreshMs (and on start, new endpoints, reloads). */
export interface DescriptorSourceConfig {
  from: "reflection";
  refreshMs: number;
}

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
  /** What a call on this route must prove; absent: nothing (require: none). */
  auth?: RouteAuthConfig;
}

// Authentication and rate limits, checked by gateway/guard/. Header names
// are lower-case.

/** Where a JWT provider's public keys come from. */
export type JwksSource =
  | { kind: "remote"; uri: string; ca?: string; cacheMaxAgeMs: number; cooldownMs: number }
  | { kind: "local"; keys: Array<Record<string, unknown>> };

export interface JwtProviderConfig {
  name: string;
  issuer: string;
  /** undefined: any audience. */
  audiences?: string[];
  jwks: JwksSource;
  /** "authorization" reads "Bearer <token>"; another header carries the token alone. */
  fromHeader: string;
  /** Pass the token's header upstream; false removes it once verified. */
  forward: boolean;
  clockSkewMs: number;
}

export type RouteAuthConfig =
  | { require: "none" }
  | {
      require: "jwt";
      provider: string;
      claimsToHeaders: Array<{ claim: string; header: string }>;
      requireClaims: Array<{ claim: string; values: string[] }>;
    }
  | { require: "mtls"; subjectAltNames: string[]; identityHeader: string };

export type RateLimitKey =
  { kind: "header"; name: string } | { kind: "claim"; name: string } | { kind: "peer" } | { kind: "route" };

export interface RateLimitConfig {
  match: RouteMatch;
  key: RateLimitKey;
  tokensPerSecond: number;
  burst: number;
  /** A redis:// URL: the buckets live there, shared by every gateway process. */
  shared?: string;
  onSharedFailure: "open" | "closed";
}

export interface AuthConfig {
  jwtProviders: Map<string, JwtProviderConfig>;
}

export interface CorsConfig {
  /** ["*"] for any origin. */
  allowedOrigins: string[];
  /** Access-Control-Allow-Credentials: true for allowed origins; never with "*" (semantics.ts refuses that). */
  allowCredentials: boolean;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** Structured logs; see observe/logger.ts. */
export interface LoggingConfig {
  level: LogLevel;
  /** One access-log line per call. */
  access: boolean;
}

/** OpenTelemetry traces, exported over OTLP/HTTP. */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL, /v1/traces included. */
  endpoint: string;
  /** Share of root calls (no sampled parent) traced, 0..1. */
  sampleRatio: number;
  serviceName: string;
}

export interface GatewayConfig {
  listeners: ListenerConfig[];
  admin?: { port: number; host: string };
  /** Prometheus metrics on the admin listener; on by default when admin is set (normalize); absent: off. */
  metrics?: { enabled: boolean };
  /** Always set by normalize; absent only in configs built by hand (tests), meaning the defaults. */
  logging?: LoggingConfig;
  /** undefined: tracing off. */
  tracing?: TracingConfig;
  limits: Limits;
  overload: OverloadConfig;
  drainTimeoutMs: number;
  /**
   * Worker processes, as written: "auto" is one per core (workers/count.ts).
   * Absent means 1, one process with no workers; set only when it is not, so
   * configs without it compare as before.
   */
  workers?: number | "auto";
  descriptorSets: Uint8Array[];
  cors: CorsConfig;
  clusters: Map<string, ClusterConfig>;
  routes: RouteConfig[];
  /** Absent: no JWT providers. */
  auth?: AuthConfig;
  /** Absent: no rate limits. */
  rateLimits?: RateLimitConfig[];
}
