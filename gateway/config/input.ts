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
  tls?: TlsServerInput;
}

export interface UpstreamTlsInput {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export type EndpointInput = string | { address: string; weight?: number };

/** Cluster keys accepted now but interpreted by later features; copied into ClusterConfig.extra. */
export const PASSTHROUGH_CLUSTER_KEYS = [
  "balancer",
  "circuitBreaker",
  "retryPolicy",
  "hedgingPolicy",
  "retryBudget",
  "healthCheck",
  "outlierDetection",
  "idempotentMethods",
] as const;

export type PassthroughClusterKey = (typeof PASSTHROUGH_CLUSTER_KEYS)[number];

export type ClusterInput = {
  protocol: "grpc" | "connect" | "grpc-web";
  // Unquoted YAML `http: 2` arrives as a number; accepting it avoids a baffling error.
  http?: "2" | "1.1" | 2 | 1.1;
  codec?: "proto" | "json" | "same";
  tls?: UpstreamTlsInput;
  timeout?: DurationInput;
  endpoints: EndpointInput[];
} & { [K in PassthroughClusterKey]?: unknown };

export interface RouteInput {
  match: { service: string } | { method: string } | { prefix: string };
  cluster: string;
  timeout?: DurationInput;
}

export interface GatewayConfigInput {
  listeners: ListenerInput[];
  admin?: { port: number; host?: string };
  limits?: { maxMessageBytes?: number };
  drainTimeout?: DurationInput;
  descriptorSets?: string[];
  cors?: { allowedOrigins?: string[] };
  clusters: Record<string, ClusterInput>;
  routes: RouteInput[];
}
