import { checkDuration } from "./check-duration.js";
import { RESERVED_REQUIRE } from "./guard.js";
import { formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";
import { closestMatch } from "./suggest.js";

// What the schema cannot say about authentication and rate limits: which
// provider a route names, which keys go with which kind of auth, and where a
// key source must come from. Like every semantic check this runs on input
// the schema may have rejected, so it ignores anything of the wrong shape.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const KEY_SOURCES = ["jwksUri", "jwksFile", "keys"] as const;
const REMOTE_ONLY = ["jwksCa", "jwksCacheDuration", "jwksCooldown"] as const;
const JWT_ONLY = ["claimsToHeaders", "requireClaims"] as const;
const MTLS_ONLY = ["subjectAltNames", "identityHeader"] as const;
/** Headers the gateway or the protocols own; a claim or identity written there would be overwritten or break the call. */
const OWNED_HEADER =
  /^(grpc-|connect-|:)|^(content-type|content-length|content-encoding|te|host|connection|transfer-encoding|upgrade|keep-alive)$/;
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

export function checkGuard(raw: Obj): Problem[] {
  const providers = providersOf(raw);
  return [
    ...Object.entries(providers).flatMap(([name, p]) => checkProvider(name, p)),
    ...list(raw.routes).flatMap((r, i) => (isObj(r) && isObj(r.auth) ? checkRouteAuth(i, r.auth, providers, raw) : [])),
    ...list(raw.rateLimits).flatMap((r, i) => (isObj(r) ? checkRateLimit(i, r, providers) : [])),
  ];
}

function providersOf(raw: Obj): Obj {
  const jwt = isObj(raw.auth) ? raw.auth.jwt : undefined;
  return isObj(jwt) && isObj(jwt.providers) ? jwt.providers : {};
}

function checkProvider(name: string, p: unknown): Problem[] {
  const at = ["auth", "jwt", "providers", name];
  const problems: Problem[] = [];
  if ((RESERVED_REQUIRE as readonly string[]).includes(name)) {
    problems.push(
      problemAt(at, `${formatValue(name)} is reserved (routes write require: ${name}); name the provider otherwise`),
    );
  }
  if (!isObj(p)) return problems;
  const sources = KEY_SOURCES.filter((k) => p[k] !== undefined);
  if (sources.length !== 1) {
    const said = sources.length === 0 ? "none is set" : `${sources.join(" and ")} are both set`;
    problems.push(problemAt(at, `needs exactly one of jwksUri, jwksFile or keys (where its public keys are); ${said}`));
  }
  if (p.jwksUri === undefined) {
    for (const k of REMOTE_ONLY) {
      if (p[k] !== undefined) problems.push(problemAt([...at, k], "only applies with jwksUri"));
    }
  }
  if (typeof p.jwksUri === "string" && p.jwksUri.startsWith("http://")) {
    const host = p.jwksUri.slice("http://".length).split("/")[0];
    if (!LOOPBACK_HOST.test(host)) {
      problems.push(
        problemAt(
          [...at, "jwksUri"],
          `${formatValue(p.jwksUri)} is plain http: keys fetched in the clear could be replaced on the way; use https (http is only for loopback)`,
        ),
      );
    }
  }
  problems.push(...checkDuration([...at, "clockSkew"], p.clockSkew, { allowZero: true }));
  problems.push(...checkDuration([...at, "jwksCooldown"], p.jwksCooldown, { allowZero: true }));
  problems.push(...checkDuration([...at, "jwksCacheDuration"], p.jwksCacheDuration, { allowZero: false }));
  return problems;
}

function checkRouteAuth(i: number, auth: Obj, providers: Obj, raw: Obj): Problem[] {
  const at: PathSegment[] = ["routes", i, "auth"];
  const require = auth.require;
  if (typeof require !== "string") return [];
  const defined = Object.keys(providers);
  const problems: Problem[] = [];
  const kind = require === "none" || require === "mtls" ? require : "jwt";
  if (kind === "jwt" && !defined.includes(require)) {
    const guess = closestMatch(require, [...defined, ...RESERVED_REQUIRE]);
    const hint = guess
      ? `did you mean ${guess}?`
      : `defined: ${defined.length > 0 ? defined.join(", ") : "none under auth.jwt.providers"}; or none, mtls`;
    problems.push(problemAt([...at, "require"], `${formatValue(require)} is not a JWT provider (${hint})`));
  }
  const misplaced = (keys: readonly string[], needs: string) => {
    for (const k of keys) if (auth[k] !== undefined) problems.push(problemAt([...at, k], `only applies with ${needs}`));
  };
  if (kind !== "jwt") misplaced(JWT_ONLY, "require: <a JWT provider>");
  if (kind !== "mtls") misplaced(MTLS_ONLY, "require: mtls");
  if (kind === "mtls") {
    if (auth.subjectAltNames === undefined) {
      problems.push(
        problemAt(
          [...at, "subjectAltNames"],
          "is required with require: mtls: list the client certificate SANs allowed, e.g. [URI:spiffe://corp/web]",
        ),
      );
    }
    const asksForCerts = list(raw.listeners).some((l) => isObj(l) && isObj(l.tls) && l.tls.clientCa !== undefined);
    if (!asksForCerts) {
      problems.push(
        problemAt(
          [...at, "require"],
          "mtls needs a listener that asks for client certificates: set tls.clientCa (and requireClientCert: true)",
        ),
      );
    }
  }
  const headers = [
    ...(isObj(auth.claimsToHeaders) ? Object.entries(auth.claimsToHeaders) : []),
    ...(auth.identityHeader !== undefined ? [["identityHeader", auth.identityHeader] as const] : []),
  ];
  const seen = new Map<string, string>();
  for (const [k, h] of headers) {
    if (typeof h !== "string") continue;
    const where = k === "identityHeader" ? [...at, k] : [...at, "claimsToHeaders", k];
    const lower = h.toLowerCase();
    if (OWNED_HEADER.test(lower)) {
      problems.push(problemAt(where, `${formatValue(h)} is a header the gateway or the protocol owns; pick another`));
    } else if (seen.has(lower)) {
      problems.push(problemAt(where, `${formatValue(h)} is already the header of claim ${seen.get(lower)}`));
    } else seen.set(lower, k);
  }
  return problems;
}

function checkRateLimit(i: number, r: Obj, providers: Obj): Problem[] {
  const at: PathSegment[] = ["rateLimits", i];
  const problems: Problem[] = [];
  if (r.onSharedFailure !== undefined && r.shared === undefined) {
    problems.push(problemAt([...at, "onSharedFailure"], "only applies with shared (a Redis URL)"));
  }
  if (typeof r.key === "string" && r.key.startsWith("claim:") && Object.keys(providers).length === 0) {
    problems.push(
      problemAt(
        [...at, "key"],
        `${formatValue(r.key)} needs verified tokens: define auth.jwt.providers and routes that require one`,
      ),
    );
  }
  if (typeof r.shared === "string") {
    try {
      new URL(r.shared);
    } catch {
      problems.push(
        problemAt([...at, "shared"], `${formatValue(r.shared)} is not a URL (expected e.g. redis://127.0.0.1:6379)`),
      );
    }
  }
  return problems;
}
