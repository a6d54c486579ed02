// Normalized configuration: what the gateway consumes after loading. Every
// default is filled in, durations are milliseconds and file references have
// been replaced by their contents, so nothing downstream touches YAML or disk.

export type UpstreamProtocol = "grpc" | "connect" | "grpc-web";

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
}

export interface ClusterConfig {
  name: string;
  protocol: UpstreamProtocol;
  http: "2" | "1.1";
  codec: "proto" | "json" | "same";
  tls?: UpstreamTlsConfig;
  timeoutMs?: number;
  endpoints: EndpointConfig[];
  /** Keys reserved for later features (balancer, retryPolicy, ...), passed through untouched. */
  extra: Record<string, unknown>;
}

export type RouteMatch = { service: string } | { method: string } | { prefix: string };

export interface RouteConfig {
  match: RouteMatch;
  cluster: string;
  timeoutMs?: number;
}

export interface GatewayConfig {
  listeners: ListenerConfig[];
  admin?: { port: number; host: string };
  limits: { maxMessageBytes: number };
  drainTimeoutMs: number;
  descriptorSets: Uint8Array[];
  cors: { allowedOrigins: string[] };
  clusters: Map<string, ClusterConfig>;
  routes: RouteConfig[];
}
