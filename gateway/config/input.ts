import type { LogLevel } from "./types.js";
import type { BalancerKind } from "./types.js";

// The user-facing shape, as written in YAML (or built in code for --demo).
// Only a value that passed the schema is trusted to have this shape.

export type DurationInput = string | number;

export interface TlsServerInput {
  cert: string;
  key: string;
  clientCa?: string;
  requireClientCert?: boolean;
}

export interface ListenerInput {
  port: number;
  host?: string;
  reusePort?: boolean;
  tls?: TlsServerInput;
  /** Over the top-level `limits` for this listener's connections. */
  limits?: ConnectionLimitsInput;
}

/** What one connection may hold and how long it may dawdle; per listener or for all (see limits.ts). */
export interface ConnectionLimitsInput {
  maxConnections?: number;
  maxConcurrentStreams?: number;
  requestHeadersTimeout?: DurationInput;
  idleTimeout?: DurationInput;
  maxRequestHeadersBytes?: number;
  maxHeadersCount?: number;
  maxPrematureResets?: number;
}

export interface LimitsInput extends ConnectionLimitsInput {
  maxMessageBytes?: number;
  streamIdleTimeout?: DurationInput;
  maxJsonDepth?: number;
}

export interface OverloadInput {
  maxEventLoopDelay?: DurationInput;
  maxHeapPercent?: number;
  maxRssBytes?: number;
  retryPushback?: DurationInput;
}

export interface UpstreamTlsInput {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export type EndpointInput = string | { address: string; weight?: number; priority?: number };

// Resilience sections. `false` switches a section off (`true` means "on, with
// defaults"); every sub-key is optional. Status codes are names such as
// "UNAVAILABLE" (lower case accepted).

export interface CircuitBreakerInput {
  errorThresholdPercentage?: number;
  volumeThreshold?: number;
  rollingWindow?: DurationInput;
  resetTimeout?: DurationInput;
  maxInFlight?: number;
}

export interface RetryPolicyInput {
  maxAttempts?: number;
  initialBackoff?: DurationInput;
  maxBackoff?: DurationInput;
  backoffMultiplier?: number;
  retryableStatusCodes?: string[];
  maxReplayBytes?: number;
}

export interface HedgingPolicyInput {
  maxAttempts?: number;
  hedgingDelay?: "auto" | DurationInput;
  nonFatalStatusCodes?: string[];
  percentile?: number;
  minDelay?: DurationInput;
}

export interface RetryBudgetInput {
  percent?: number;
  minRetriesPerSecond?: number;
}

export interface HealthCheckInput {
  interval?: DurationInput;
  timeout?: DurationInput;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
  service?: string;
}

export interface OutlierDetectionInput {
  consecutiveFailures?: number;
  baseEjectionTime?: DurationInput;
  maxEjectionTime?: DurationInput;
  maxEjectionPercent?: number;
  interval?: DurationInput;
  successRateMinimumHosts?: number;
  successRateRequestVolume?: number;
  successRateStdevFactor?: number;
}

export interface ClusterInput {
  protocol: "grpc" | "connect" | "grpc-web";
  // Unquoted YAML `http: 2` arrives as a number; accepting it avoids a baffling error.
  http?: "2" | "1.1" | 2 | 1.1;
  codec?: "proto" | "json" | "same";
  compression?: "identity" | "gzip";
  tls?: UpstreamTlsInput;
  timeout?: DurationInput;
  connectTimeout?: DurationInput;
  endpoints?: EndpointInput[];
  discovery?: DiscoveryInput;
  descriptors?: "reflection";
  descriptorRefresh?: DurationInput;
  balancer?: BalancerKind;
  hashOn?: { header: string };
  overprovisioningFactor?: number;
  slowStart?: DurationInput;
  circuitBreaker?: boolean | CircuitBreakerInput;
  retryPolicy?: boolean | RetryPolicyInput;
  hedgingPolicy?: boolean | HedgingPolicyInput;
  retryBudget?: RetryBudgetInput;
  healthCheck?: boolean | HealthCheckInput;
  outlierDetection?: boolean | OutlierDetectionInput;
  idempotentMethods?: string[];
}

export type DiscoveryInput =
  | { dns: { name: string; port?: number; refresh?: DurationInput; servers?: string[] } }
  | { etcd: { endpoints: string[]; prefix: string } }
  | { kubernetes: { namespace?: string; service: string; port: string | number } }
  | { file: { path: string } };

export type CallMatchInput = { service: string } | { method: string } | { prefix: string };

export interface RouteInput {
  match: CallMatchInput;
  cluster: string;
  timeout?: DurationInput;
  auth?: RouteAuthInput;
}

// Authentication and rate limits (gateway/guard/).

export interface JwtProviderInput {
  issuer: string;
  audiences?: string[];
  /** Exactly one of jwksUri, jwksFile, keys. */
  jwksUri?: string;
  jwksCa?: string;
  jwksFile?: string;
  keys?: Array<Record<string, unknown>>;
  jwksCacheDuration?: DurationInput;
  jwksCooldown?: DurationInput;
  fromHeader?: string;
  forward?: boolean;
  clockSkew?: DurationInput;
}

export interface RouteAuthInput {
  /** A provider name, "none" or "mtls". */
  require: string;
  claimsToHeaders?: Record<string, string>;
  requireClaims?: Record<string, string | string[]>;
  subjectAltNames?: string[];
  identityHeader?: string;
}

export interface RateLimitInput {
  match: CallMatchInput;
  /** header:<name> | claim:<name> | peer | route */
  key: string;
  tokensPerSecond: number;
  burst: number;
  shared?: string;
  onSharedFailure?: "open" | "closed";
}

export interface GatewayConfigInput {
  listeners: ListenerInput[];
  admin?: { port: number; host?: string };
  metrics?: { enabled?: boolean };
  logging?: { level?: LogLevel; access?: boolean };
  tracing?: { otlp: { endpoint: string }; sampleRatio?: number; serviceName?: string };
  limits?: LimitsInput;
  /** false: off. */
  overload?: boolean | OverloadInput;
  drainTimeout?: DurationInput;
  workers?: number | "auto";
  descriptorSets?: string[];
  cors?: { allowedOrigins?: string[]; allowCredentials?: boolean };
  clusters: Record<string, ClusterInput>;
  routes: RouteInput[];
  auth?: { jwt?: { providers: Record<string, JwtProviderInput> } };
  rateLimits?: RateLimitInput[];
}
