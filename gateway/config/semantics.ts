import { isValidPort, parseHostPort } from "./address.js";
import { checkDuration } from "./check-duration.js";
import { parseDuration } from "./duration.js";
import { checkResilience } from "./resilience-checks.js";
import { checkGuard } from "./guard-checks.js";
import { formatPath, formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";

// Checks the schema cannot express: cross-references, value ranges hidden
// inside strings, and combinations. They run even when the schema failed, so
// every lookup tolerates the wrong shape and stays silent about it (the
// schema already complained).

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const entries = (v: unknown): [string, unknown][] => (isObj(v) ? Object.entries(v) : []);

export function checkSemantics(raw: unknown): Problem[] {
  if (!isObj(raw)) return [];
  return [
    ...checkPortConflicts(raw),
    ...checkListenerTls(raw.listeners),
    ...entries(raw.clusters).flatMap(([name, c]) => checkCluster(name, c)),
    ...checkRoutes(raw.routes, raw.clusters),
    ...checkCors(raw.cors),
    ...checkMetrics(raw),
    ...checkDuration(["drainTimeout"], raw.drainTimeout, { allowZero: true }),
    ...checkGuard(raw),
    ...checkLimitDurations(["limits"], raw.limits),
    ...list(raw.listeners).flatMap((l, i) =>
      isObj(l) ? checkLimitDurations(["listeners", i, "limits"], l.limits) : [],
    ),
    ...(isObj(raw.overload)
      ? ["maxEventLoopDelay", "retryPushback"].flatMap((k) =>
          checkDuration(["overload", k], (raw.overload as Obj)[k], { allowZero: true }),
        )
      : []),
  ];
}

/** Metrics are served on the admin listener, so asking for them without one would collect for nobody. */
function checkMetrics(raw: Obj): Problem[] {
  if (!isObj(raw.metrics) || raw.metrics.enabled !== true || raw.admin !== undefined) return [];
  return [
    problemAt(
      ["metrics", "enabled"],
      "true needs the admin listener, which serves /metrics: add admin: { port: 9901 } (it binds 127.0.0.1 unless admin.host says otherwise)",
    ),
  ];
}

/** Every duration under limits may be 0, which turns that timeout off. */
function checkLimitDurations(at: PathSegment[], limits: unknown): Problem[] {
  if (!isObj(limits)) return [];
  return ["requestHeadersTimeout", "idleTimeout", "streamIdleTimeout"].flatMap((k) =>
    checkDuration([...at, k], limits[k], { allowZero: true }),
  );
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** Two sockets on one port clash unless both bind different specific interfaces. */
function checkPortConflicts(raw: Obj): Problem[] {
  const sockets: { at: PathSegment[]; port: number; host: string }[] = [];
  list(raw.listeners).forEach((l, i) => {
    if (isObj(l) && typeof l.port === "number")
      sockets.push({ at: ["listeners", i], port: l.port, host: hostOf(l, "0.0.0.0") });
  });
  if (isObj(raw.admin) && typeof raw.admin.port === "number") {
    sockets.push({ at: ["admin"], port: raw.admin.port, host: hostOf(raw.admin, "127.0.0.1") });
  }
  const problems: Problem[] = [];
  sockets.forEach((s, i) => {
    // Port 0 asks the OS for a free port, so zeros never clash.
    const earlier =
      s.port === 0 ? undefined : sockets.slice(0, i).find((e) => e.port === s.port && hostsOverlap(e.host, s.host));
    if (earlier) problems.push(problemAt([...s.at, "port"], `${s.port} is already used by ${formatPath(earlier.at)}`));
  });
  return problems;
}

function hostOf(o: Obj, fallback: string): string {
  return typeof o.host === "string" ? o.host : fallback;
}

function hostsOverlap(a: string, b: string): boolean {
  return a === b || WILDCARD_HOSTS.has(a) || WILDCARD_HOSTS.has(b);
}

/**
 * Browsers refuse a credentialed response whose Access-Control-Allow-Origin
 * is "*", and echoing any origin with credentials would let every site
 * call with the user's cookies: credentials need a real allow-list.
 */
function checkCors(cors: unknown): Problem[] {
  if (!isObj(cors) || cors.allowCredentials !== true) return [];
  const origins = cors.allowedOrigins;
  if (origins !== undefined && !(Array.isArray(origins) && origins.includes("*"))) return [];
  const which = origins === undefined ? 'allowedOrigins "*" (the default)' : 'allowedOrigins "*"';
  return [
    problemAt(
      ["cors", "allowCredentials"],
      `true cannot be combined with ${which}: list the origins that may send credentials`,
    ),
  ];
}

function checkListenerTls(listeners: unknown): Problem[] {
  return list(listeners).flatMap((l, i) => {
    const tls = isObj(l) ? l.tls : undefined;
    if (!isObj(tls) || tls.requireClientCert !== true || tls.clientCa !== undefined) return [];
    return [
      problemAt(
        ["listeners", i, "tls", "requireClientCert"],
        "true needs clientCa (the CA bundle that signs client certificates)",
      ),
    ];
  });
}

function checkCluster(name: string, cluster: unknown): Problem[] {
  if (!isObj(cluster)) return [];
  const at = ["clusters", name];
  const problems: Problem[] = [];
  if (cluster.protocol === "grpc" && (cluster.http === "1.1" || cluster.http === 1.1)) {
    problems.push(
      problemAt(
        [...at, "http"],
        '"1.1" is not allowed with protocol grpc (gRPC needs HTTP/2; use connect or grpc-web over HTTP/1.1)',
      ),
    );
  }
  if (cluster.endpoints === undefined && cluster.discovery === undefined) {
    problems.push(
      problemAt(at, "has no endpoints: list them under endpoints, or say where to find them under discovery"),
    );
  }
  const dns = isObj(cluster.discovery) && isObj(cluster.discovery.dns) ? cluster.discovery.dns : undefined;
  if (dns && typeof dns.name === "string" && !dns.name.startsWith("_") && dns.port === undefined) {
    problems.push(
      problemAt(
        [...at, "discovery", "dns"],
        `needs port: ${formatValue(dns.name)} is an A/AAAA name (SRV names start with "_" and carry their ports)`,
      ),
    );
  }
  problems.push(...checkDuration([...at, "discovery", "dns", "refresh"], dns?.refresh, { allowZero: false }));
  const seen = new Map<string, number>();
  list(cluster.endpoints).forEach((e, i) => {
    const [address, where] = isObj(e) ? [e.address, [...at, "endpoints", i, "address"]] : [e, [...at, "endpoints", i]];
    if (typeof address !== "string") return;
    const parsed = parseHostPort(address);
    if (parsed && !isValidPort(parsed.port)) {
      problems.push(
        problemAt(where, `${formatValue(address)} has port ${parsed.port}, which is not between 1 and 65535`),
      );
    }
    const first = seen.get(address);
    // Listing an endpoint twice silently doubles its share; weight says that explicitly.
    if (first !== undefined)
      problems.push(
        problemAt(where, `${formatValue(address)} is listed twice (also endpoints[${first}]; use weight instead)`),
      );
    else seen.set(address, i);
  });
  // A zero deadline would fail every call before it starts.
  problems.push(...checkDuration([...at, "timeout"], cluster.timeout, { allowZero: false }));
  // Zero would fail every new connection at once.
  problems.push(...checkDuration([...at, "connectTimeout"], cluster.connectTimeout, { allowZero: false }));
  problems.push(...checkDescriptors(at, cluster));
  problems.push(...checkResilience(at, cluster));
  return problems;
}

/** Each refresh asks every endpoint; faster than this is load, not freshness. */
const MIN_DESCRIPTOR_REFRESH_MS = 1000;

function checkDescriptors(at: PathSegment[], cluster: Obj): Problem[] {
  const refresh = cluster.descriptorRefresh;
  if (refresh === undefined) return [];
  const where = [...at, "descriptorRefresh"];
  if (cluster.descriptors !== "reflection") {
    return [problemAt(where, "only applies with descriptors: reflection (add that, or remove descriptorRefresh)")];
  }
  const problems = checkDuration(where, refresh, { allowZero: false });
  if (problems.length > 0 || (typeof refresh !== "string" && typeof refresh !== "number")) return problems;
  let ms: number;
  try {
    ms = parseDuration(refresh);
  } catch {
    return [];
  }
  return ms < MIN_DESCRIPTOR_REFRESH_MS
    ? [problemAt(where, `${formatValue(refresh)} is too often: at least 1s (each refresh asks every endpoint)`)]
    : [];
}

function checkRoutes(routes: unknown, clusters: unknown): Problem[] {
  const defined = entries(clusters).map(([name]) => name);
  return list(routes).flatMap((r, i) => {
    if (!isObj(r)) return [];
    const problems: Problem[] = [];
    if (typeof r.cluster === "string" && !defined.includes(r.cluster)) {
      const known = defined.length > 0 ? defined.join(", ") : "none";
      problems.push(
        problemAt(["routes", i, "cluster"], `${formatValue(r.cluster)} is not a defined cluster (defined: ${known})`),
      );
    }
    problems.push(...checkDuration(["routes", i, "timeout"], r.timeout, { allowZero: false }));
    return problems;
  });
}
