import { describe, expect, it } from "vitest";
import { ConfigError, validateConfigObject } from "./load.js";

// The auth and rateLimits keys through the whole load: schema, semantic
// checks, files and normalization, as a user's YAML goes.

const KEY = {
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
};
const JWKS_FILE = new TextEncoder().encode(JSON.stringify({ keys: [KEY] }));
const PEM = new TextEncoder().encode("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

function base(extra: Record<string, unknown> = {}): Record<string, any> {
  return {
    listeners: [{ port: 8080 }],
    clusters: { echo: { protocol: "grpc", endpoints: ["127.0.0.1:50051"] } },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    auth: {
      jwt: {
        providers: {
          corp: {
            issuer: "https://id.example.com/",
            audiences: ["switchyard"],
            jwksUri: "https://id.example.com/jwks.json",
          },
        },
      },
    },
    ...extra,
  };
}

const files = async (path: string): Promise<Uint8Array> => {
  if (path.endsWith(".json")) return JWKS_FILE;
  if (path.endsWith(".pem")) return PEM;
  throw Object.assign(new Error("missing"), { code: "ENOENT" });
};

async function problems(config: Record<string, unknown>): Promise<string[]> {
  const err = await validateConfigObject(config, "/cfg", files).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

describe("auth and rateLimits config", () => {
  it("normalizes providers, route auth and rate limits with their defaults", async () => {
    const c = base({
      rateLimits: [
        { match: { service: "acme.echo.v1.EchoService" }, key: "header:X-User-Id", tokensPerSecond: 100, burst: 200 },
        { match: { prefix: "/" }, key: "peer", tokensPerSecond: 5, burst: 10, shared: "redis://127.0.0.1:6379" },
      ],
    });
    c.routes[0].auth = { require: "corp", claimsToHeaders: { sub: "X-User-Id" }, requireClaims: { scope: "echo" } };
    c.auth.jwt.providers.file = { issuer: "https://other/", jwksFile: "keys.json", fromHeader: "X-Token" };
    const config = await validateConfigObject(c, "/cfg", files);
    expect(config.auth?.jwtProviders.get("corp")).toEqual({
      name: "corp",
      issuer: "https://id.example.com/",
      audiences: ["switchyard"],
      jwks: { kind: "remote", uri: "https://id.example.com/jwks.json", cacheMaxAgeMs: 600_000, cooldownMs: 30_000 },
      fromHeader: "authorization",
      forward: false,
      clockSkewMs: 60_000,
    });
    expect(config.auth?.jwtProviders.get("file")?.jwks).toEqual({ kind: "local", keys: [KEY] });
    expect(config.auth?.jwtProviders.get("file")?.fromHeader).toBe("x-token");
    expect(config.routes[0].auth).toEqual({
      require: "jwt",
      provider: "corp",
      claimsToHeaders: [{ claim: "sub", header: "x-user-id" }],
      requireClaims: [{ claim: "scope", values: ["echo"] }],
    });
    expect(config.rateLimits).toEqual([
      {
        match: { service: "acme.echo.v1.EchoService" },
        key: { kind: "header", name: "x-user-id" },
        tokensPerSecond: 100,
        burst: 200,
        onSharedFailure: "open",
      },
      {
        match: { prefix: "/" },
        key: { kind: "peer" },
        tokensPerSecond: 5,
        burst: 10,
        shared: "redis://127.0.0.1:6379",
        onSharedFailure: "open",
      },
    ]);
  });

  it("leaves a config without auth or rate limits as it was (routes require nothing)", async () => {
    const c = base();
    delete c.auth;
    const config = await validateConfigObject(c, "/cfg", files);
    expect(config.auth).toBeUndefined();
    expect(config.rateLimits).toBeUndefined();
    expect(config.routes[0].auth).toBeUndefined();
    c.routes[0].auth = { require: "none" };
    expect((await validateConfigObject(c, "/cfg", files)).routes[0].auth).toBeUndefined();
  });

  it("suggests the provider a route probably meant", async () => {
    const c = base();
    c.routes[0].auth = { require: "crop" };
    expect(await problems(c)).toEqual(['routes[0].auth.require: "crop" is not a JWT provider (did you mean corp?)']);
    c.routes[0].auth = { require: "google" };
    expect(await problems(c)).toEqual([
      'routes[0].auth.require: "google" is not a JWT provider (defined: corp; or none, mtls)',
    ]);
  });

  it("needs exactly one key source per provider, and remote-only keys only with jwksUri", async () => {
    const c = base();
    c.auth.jwt.providers.corp.keys = [KEY];
    c.auth.jwt.providers.bare = { issuer: "x", jwksCooldown: "1s" };
    expect(await problems(c)).toEqual([
      "auth.jwt.providers.corp: needs exactly one of jwksUri, jwksFile or keys (where its public keys are); jwksUri and keys are both set",
      "auth.jwt.providers.bare: needs exactly one of jwksUri, jwksFile or keys (where its public keys are); none is set",
      "auth.jwt.providers.bare.jwksCooldown: only applies with jwksUri",
    ]);
  });

  it("refuses plain-http key sets off loopback, reserved names and bad JWKS files", async () => {
    const c = base();
    c.auth.jwt.providers.corp.jwksUri = "http://id.example.com/jwks";
    c.auth.jwt.providers.none = { issuer: "x", jwksFile: "keys.pem" };
    const found = await problems(c);
    expect(found).toContain(
      'auth.jwt.providers.corp.jwksUri: "http://id.example.com/jwks" is plain http: keys fetched in the clear could be replaced on the way; use https (http is only for loopback)',
    );
    expect(found).toContain(
      'auth.jwt.providers.none: "none" is reserved (routes write require: none); name the provider otherwise',
    );
    expect(found.find((p) => p.startsWith("auth.jwt.providers.none.jwksFile:"))).toMatch(
      /is not a JSON Web Key Set \(expected JSON like/,
    );
    c.auth.jwt.providers = { corp: { issuer: "x", jwksUri: "http://127.0.0.1:9999/jwks" } };
    await expect(validateConfigObject(c, "/cfg", files)).resolves.toBeDefined();
  });

  it("keeps JWT keys and mTLS keys apart, and needs a listener that asks for certificates", async () => {
    const c = base();
    c.routes[0].auth = { require: "mtls", claimsToHeaders: { sub: "x-user" } };
    expect(await problems(c)).toEqual([
      "routes[0].auth.claimsToHeaders: only applies with require: <a JWT provider>",
      "routes[0].auth.subjectAltNames: is required with require: mtls: list the client certificate SANs allowed, e.g. [URI:spiffe://corp/web]",
      "routes[0].auth.require: mtls needs a listener that asks for client certificates: set tls.clientCa (and requireClientCert: true)",
    ]);
    c.routes[0].auth = { require: "corp", subjectAltNames: ["DNS:a"] };
    expect(await problems(c)).toEqual(["routes[0].auth.subjectAltNames: only applies with require: mtls"]);
    c.listeners[0].tls = { cert: "c.pem", key: "k.pem", clientCa: "ca.pem", requireClientCert: true };
    c.routes[0].auth = { require: "mtls", subjectAltNames: ["spiffe://x"] };
    expect(await problems(c)).toEqual([
      'routes[0].auth.subjectAltNames[0]: "spiffe://x" is not a SAN (expected DNS:<name> or URI:<uri>, e.g. "URI:spiffe://corp/web")',
    ]);
    c.routes[0].auth = { require: "mtls", subjectAltNames: ["URI:spiffe://x"] };
    expect((await validateConfigObject(c, "/cfg", files)).routes[0].auth).toEqual({
      require: "mtls",
      subjectAltNames: ["URI:spiffe://x"],
      identityHeader: "x-forwarded-client-cert",
    });
  });

  it("refuses claim headers the protocols own or that two claims share", async () => {
    const c = base();
    c.routes[0].auth = { require: "corp", claimsToHeaders: { sub: "grpc-timeout", email: "X-User", name: "x-user" } };
    expect(await problems(c)).toEqual([
      'routes[0].auth.claimsToHeaders.sub: "grpc-timeout" is a header the gateway or the protocol owns; pick another',
      'routes[0].auth.claimsToHeaders.name: "x-user" is already the header of claim email',
    ]);
  });

  it("checks rate limit keys, numbers and the shared store", async () => {
    const c = base({
      rateLimits: [
        { match: { prefix: "/" }, key: "user", tokensPerSecond: 0, burst: 0.5 },
        { match: { prefix: "/" }, key: "route", tokensPerSecond: 1, burst: 1, onSharedFailure: "closed" },
        { match: { prefix: "/" }, key: "peer", tokensPerSecond: 1, burst: 1, shared: "http://redis" },
      ],
    });
    expect(await problems(c)).toEqual([
      'rateLimits[0].key: "user" is not a rate limit key (expected header:<name>, claim:<name>, peer or route)',
      "rateLimits[0].tokensPerSecond: 0 must be greater than 0",
      "rateLimits[0].burst: 0.5 must be a whole number of calls, at least 1",
      'rateLimits[2].shared: "http://redis" is not a Redis URL (expected e.g. "redis://127.0.0.1:6379")',
      "rateLimits[1].onSharedFailure: only applies with shared (a Redis URL)",
    ]);
    delete c.auth;
    c.rateLimits = [{ match: { prefix: "/" }, key: "claim:sub", tokensPerSecond: 1, burst: 1 }];
    expect(await problems(c)).toEqual([
      'rateLimits[0].key: "claim:sub" needs verified tokens: define auth.jwt.providers and routes that require one',
    ]);
  });
});
