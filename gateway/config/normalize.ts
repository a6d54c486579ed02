import { readFileSync } from "node:fs";
import { parseHostPort } from "./address.js";
import { parseDuration } from "./duration.js";
import { resolve } from "node:path";
import type {
  ClusterInput,
  DiscoveryInput,
  EndpointInput,
  GatewayConfigInput,
  ListenerInput,
  UpstreamTlsInput,
} from "./input.js";
import { normalizeResilience } from "./resilience.js";
import { normalizeAuth, normalizeRateLimits, normalizeRouteAuth } from "./guard.js";
import { normalizeConnectionLimits, normalizeLimits, normalizeOverload } from "./limits.js";
import type {
  ClusterConfig,
  DiscoveryConfig,
  EndpointConfig,
  GatewayConfig,
  Limits,
  ListenerConfig,
  RouteConfig,
  UpstreamTlsConfig,
} from "./types.js";

// Defaults live here, in one place, rather than in the schema: the schema's
// `default`s are documentation for editors, this is what the gateway gets.
// (Resilience defaults are in resilience.ts, next to the code that applies them.)
export const DEFAULTS = {
  listenerHost: "0.0.0.0",
  // Admin endpoints expose internals; binding loopback unless asked keeps them private.
  adminHost: "127.0.0.1",
  drainTimeout: "10s",
  workers: 1,
  allowedOrigins: ["*"],
  allowCredentials: false,
  http: "2",
  codec: "proto",
  compression: "identity",
  // Envoy's connect_timeout default.
  connectTimeout: "5s",
  weight: 1,
  dnsRefresh: "5s",
  descriptorRefresh: "60s",
  kubernetesNamespace: "default",
  logLevel: "info",
  accessLog: false,
  sampleRatio: 1,
  serviceName: "switchyard",
} as const;

/**
 * Input -> GatewayConfig. Only call this with input that passed the schema
 * and semantic checks and whose files were all read: it trusts both.
 */
export function normalizeConfig(
  input: GatewayConfigInput,
  files: ReadonlyMap<string, Uint8Array>,
  baseDir = process.cwd(),
): GatewayConfig {
  const text = (file: string) => new TextDecoder().decode(bytesOf(files, file));
  const pem = (file: string | undefined) => (file === undefined ? undefined : text(file));
  const limits = normalizeLimits(input.limits);
  const config: GatewayConfig = {
    listeners: input.listeners.map((l) => normalizeListener(l, text, limits)),
    limits,
    overload: normalizeOverload(input.overload),
    drainTimeoutMs: parseDuration(input.drainTimeout ?? DEFAULTS.drainTimeout),
    descriptorSets: (input.descriptorSets ?? []).map((f) => bytesOf(files, f)),
    cors: {
      allowedOrigins: [...(input.cors?.allowedOrigins ?? DEFAULTS.allowedOrigins)],
      allowCredentials: input.cors?.allowCredentials ?? DEFAULTS.allowCredentials,
    },
    clusters: new Map(
      Object.entries(input.clusters).map(([name, c]) => [name, normalizeCluster(name, c, pem, baseDir)]),
    ),
    routes: input.routes.map(normalizeRoute),
    // As Envoy's admin stats and Linkerd's proxy metrics: there whenever the admin port is.
    metrics: { enabled: input.metrics?.enabled ?? input.admin !== undefined },
    logging: {
      level: input.logging?.level ?? DEFAULTS.logLevel,
      access: input.logging?.access ?? DEFAULTS.accessLog,
    },
  };
  if (input.workers !== undefined && input.workers !== DEFAULTS.workers) config.workers = input.workers;
  if (input.admin) config.admin = { port: input.admin.port, host: input.admin.host ?? DEFAULTS.adminHost };
  const auth = normalizeAuth(input.auth, text);
  if (auth) config.auth = auth;
  const rateLimits = normalizeRateLimits(input.rateLimits);
  if (rateLimits) config.rateLimits = rateLimits;
  if (input.tracing) {
    config.tracing = {
      endpoint: tracesUrl(input.tracing.otlp.endpoint),
      sampleRatio: input.tracing.sampleRatio ?? DEFAULTS.sampleRatio,
      serviceName: input.tracing.serviceName ?? DEFAULTS.serviceName,
    };
  }
  return config;
}

/** As OTEL_EXPORTER_OTLP_ENDPOINT: a URL without a path gets the traces path. */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/traces";
  return u.toString();
}

function bytesOf(files: ReadonlyMap<string, Uint8Array>, file: string): Uint8Array {
  const bytes = files.get(file);
  if (!bytes) throw new Error(`internal: config file ${JSON.stringify(file)} was not read before normalizing`);
  return bytes;
}

function normalizeListener(l: ListenerInput, text: (file: string) => string, limits: Limits): ListenerConfig {
  const out: ListenerConfig = { port: l.port, host: l.host ?? DEFAULTS.listenerHost };
  if (l.reusePort) out.reusePort = true;
  if (l.limits) out.limits = normalizeConnectionLimits(l.limits, limits);
  if (l.tls) {
    out.tls = { cert: text(l.tls.cert), key: text(l.tls.key), requireClientCert: l.tls.requireClientCert ?? false };
    if (l.tls.clientCa !== undefined) out.tls.clientCa = text(l.tls.clientCa);
  }
  return out;
}

function normalizeCluster(
  name: string,
  c: ClusterInput,
  pem: (file: string | undefined) => string | undefined,
  baseDir: string,
): ClusterConfig {
  const out: ClusterConfig = {
    name,
    protocol: c.protocol,
    http: c.http === undefined ? DEFAULTS.http : (String(c.http) as "2" | "1.1"),
    codec: c.codec ?? DEFAULTS.codec,
    compression: c.compression ?? DEFAULTS.compression,
    connectTimeoutMs: parseDuration(c.connectTimeout ?? DEFAULTS.connectTimeout),
    endpoints: (c.endpoints ?? []).map(normalizeEndpoint),
    resilience: normalizeResilience(c),
  };
  if (c.discovery) out.discovery = normalizeDiscovery(c.discovery, baseDir);
  if (c.descriptors === "reflection") {
    out.descriptors = {
      from: "reflection",
      refreshMs: parseDuration(c.descriptorRefresh ?? DEFAULTS.descriptorRefresh),
    };
  }
  if (c.tls) out.tls = normalizeUpstreamTls(c.tls, pem);
  if (c.timeout !== undefined) out.timeoutMs = parseDuration(c.timeout);
  return out;
}

/** In a pod, its own namespace, as kubectl and client-go default to (the service account's namespace file). */
function podNamespace(): string | undefined {
  try {
    return readFileSync(POD_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
const POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function normalizeDiscovery(d: DiscoveryInput, baseDir: string): DiscoveryConfig {
  if ("dns" in d) {
    const { name, port, refresh, servers } = d.dns;
    return { kind: "dns", name, port, refreshMs: parseDuration(refresh ?? DEFAULTS.dnsRefresh), servers };
  }
  if ("etcd" in d) return { kind: "etcd", endpoints: [...d.etcd.endpoints], prefix: d.etcd.prefix };
  if ("kubernetes" in d) {
    const { namespace, service, port } = d.kubernetes;
    return {
      kind: "kubernetes",
      namespace: namespace ?? podNamespace() ?? DEFAULTS.kubernetesNamespace,
      service,
      port,
    };
  }
  return { kind: "file", path: resolve(baseDir, d.file.path) };
}

function normalizeUpstreamTls(
  tls: UpstreamTlsInput,
  pem: (file: string | undefined) => string | undefined,
): UpstreamTlsConfig {
  const out: UpstreamTlsConfig = { insecureSkipVerify: tls.insecureSkipVerify ?? false };
  const ca = pem(tls.ca);
  const cert = pem(tls.cert);
  const key = pem(tls.key);
  // Leave absent fields absent (not undefined) so `"ca" in tls` and spreads behave.
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (tls.serverName !== undefined) out.serverName = tls.serverName;
  return out;
}

/** An endpoint as written in the config or in a discovery file, normalized. */
export function normalizeEndpoint(e: EndpointInput): EndpointConfig {
  const { address, weight, priority } =
    typeof e === "string" ? { address: e, weight: undefined, priority: undefined } : e;
  const hp = parseHostPort(address);
  if (!hp) throw new Error(`internal: endpoint ${JSON.stringify(address)} was not validated before normalizing`);
  return { address, host: hp.host, port: hp.port, weight: weight ?? DEFAULTS.weight, priority: priority ?? 0 };
}

function normalizeRoute(r: GatewayConfigInput["routes"][number]): RouteConfig {
  const out: RouteConfig = { match: { ...r.match }, cluster: r.cluster };
  if (r.timeout !== undefined) out.timeoutMs = parseDuration(r.timeout);
  const auth = normalizeRouteAuth(r.auth);
  if (auth) out.auth = auth;
  return out;
}
