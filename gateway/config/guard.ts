import { parseDuration } from "./duration.js";
import type { GatewayConfigInput, JwtProviderInput, RateLimitInput, RouteAuthInput } from "./input.js";
import type { AuthConfig, JwtProviderConfig, RateLimitConfig, RateLimitKey, RouteAuthConfig } from "./types.js";

// Authentication and rate limits, input -> normalized (gateway/guard/ applies
// them). Defaults live here, next to the code that fills them in.
export const GUARD_DEFAULTS = {
  fromHeader: "authorization",
  // jose's own defaults for createRemoteJWKSet.
  jwksCacheDuration: "10m",
  jwksCooldown: "30s",
  // Envoy's jwt_authn clock_skew_seconds.
  clockSkew: "60s",
  identityHeader: "x-forwarded-client-cert",
  // Envoy's rate limit filter fails open unless failure_mode_deny is set.
  onSharedFailure: "open",
} as const;

/** Route auth values that are not provider names. */
export const RESERVED_REQUIRE = ["none", "mtls"] as const;

export function normalizeAuth(
  input: GatewayConfigInput["auth"],
  text: (file: string) => string,
): AuthConfig | undefined {
  const providers = input?.jwt?.providers;
  if (!providers) return undefined;
  return {
    jwtProviders: new Map(Object.entries(providers).map(([name, p]) => [name, normalizeProvider(name, p, text)])),
  };
}

function normalizeProvider(name: string, p: JwtProviderInput, text: (file: string) => string): JwtProviderConfig {
  let jwks: JwtProviderConfig["jwks"];
  if (p.jwksUri !== undefined) {
    jwks = {
      kind: "remote",
      uri: p.jwksUri,
      cacheMaxAgeMs: parseDuration(p.jwksCacheDuration ?? GUARD_DEFAULTS.jwksCacheDuration),
      cooldownMs: parseDuration(p.jwksCooldown ?? GUARD_DEFAULTS.jwksCooldown),
    };
    if (p.jwksCa !== undefined) jwks.ca = text(p.jwksCa);
  } else if (p.jwksFile !== undefined) {
    jwks = { kind: "local", keys: (JSON.parse(text(p.jwksFile)) as { keys: Array<Record<string, unknown>> }).keys };
  } else {
    jwks = { kind: "local", keys: (p.keys ?? []).map((k) => ({ ...k })) };
  }
  const out: JwtProviderConfig = {
    name,
    issuer: p.issuer,
    jwks,
    fromHeader: (p.fromHeader ?? GUARD_DEFAULTS.fromHeader).toLowerCase(),
    forward: p.forward ?? false,
    clockSkewMs: parseDuration(p.clockSkew ?? GUARD_DEFAULTS.clockSkew),
  };
  if (p.audiences) out.audiences = [...p.audiences];
  return out;
}

export function normalizeRouteAuth(a: RouteAuthInput | undefined): RouteAuthConfig | undefined {
  if (!a || a.require === "none") return undefined;
  if (a.require === "mtls") {
    return {
      require: "mtls",
      subjectAltNames: [...(a.subjectAltNames ?? [])],
      identityHeader: (a.identityHeader ?? GUARD_DEFAULTS.identityHeader).toLowerCase(),
    };
  }
  return {
    require: "jwt",
    provider: a.require,
    claimsToHeaders: Object.entries(a.claimsToHeaders ?? {}).map(([claim, header]) => ({
      claim,
      header: header.toLowerCase(),
    })),
    requireClaims: Object.entries(a.requireClaims ?? {}).map(([claim, v]) => ({
      claim,
      values: typeof v === "string" ? [v] : [...v],
    })),
  };
}

export function normalizeRateLimits(input: RateLimitInput[] | undefined): RateLimitConfig[] | undefined {
  if (!input || input.length === 0) return undefined;
  return input.map((r) => {
    const out: RateLimitConfig = {
      match: { ...r.match },
      key: parseRateLimitKey(r.key),
      tokensPerSecond: r.tokensPerSecond,
      burst: r.burst,
      onSharedFailure: r.onSharedFailure ?? GUARD_DEFAULTS.onSharedFailure,
    };
    if (r.shared !== undefined) out.shared = r.shared;
    return out;
  });
}

/** "header:X-User-Id" -> { kind: "header", name: "x-user-id" }; the schema checked the form. */
export function parseRateLimitKey(key: string): RateLimitKey {
  if (key === "peer" || key === "route") return { kind: key };
  const colon = key.indexOf(":");
  const kind = key.slice(0, colon);
  const name = key.slice(colon + 1);
  return kind === "header" ? { kind: "header", name: name.toLowerCase() } : { kind: "claim", name };
}
