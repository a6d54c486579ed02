import { defaultLimits, defaultOverload } from "../config/limits.js";
import { describe, expect, it } from "vitest";
import { REDACTED, isSecretName, redactedConfigJson } from "./config-json.js";
import type { GatewayConfig } from "../config/types.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";

const KEY = "-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n";

function config(): GatewayConfig {
  return {
    listeners: [{ port: 8443, host: "0.0.0.0", tls: { cert: CERT, key: KEY, requireClientCert: false } }],
    admin: { port: 9901, host: "127.0.0.1" },
    limits: { ...defaultLimits(), maxMessageBytes: 4 << 20 },
    overload: defaultOverload(),
    drainTimeoutMs: 10_000,
    descriptorSets: [new Uint8Array(1234)],
    cors: { allowedOrigins: ["*"], allowCredentials: false },
    clusters: new Map([
      [
        "echo",
        clusterConfig([endpointAt(50051)], {
          tls: { ca: CERT, cert: CERT, key: KEY, insecureSkipVerify: false },
          discovery: { kind: "etcd", endpoints: ["http://root:hunter2@10.0.0.1:2379"], prefix: "/services/echo/" },
        }),
      ],
    ]),
    routes: [{ match: { prefix: "/" }, cluster: "echo" }],
  };
}

describe("redactedConfigJson", () => {
  it("redacts TLS keys and URL user info, and names each redacted path", () => {
    const { json, redacted } = redactedConfigJson(config());
    expect(json).not.toContain("PRIVATE KEY");
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("root:");
    const parsed = JSON.parse(json);
    expect(parsed.listeners[0].tls.key).toBe(REDACTED);
    expect(parsed.clusters.echo.tls.key).toBe(REDACTED);
    expect(parsed.clusters.echo.discovery.endpoints[0]).toBe(`http://${REDACTED}@10.0.0.1:2379`);
    expect(redacted).toEqual(["listeners[0].tls.key", "clusters.echo.tls.key", "clusters.echo.discovery.endpoints[0]"]);
  });

  it("keeps everything else: certificates, maps as objects, defaults, and bytes by their size", () => {
    const parsed = JSON.parse(redactedConfigJson(config()).json);
    expect(parsed.listeners[0].tls.cert).toBe(CERT);
    expect(parsed.clusters.echo.endpoints[0].address).toBe("127.0.0.1:50051");
    expect(parsed.clusters.echo.resilience.circuitBreaker.volumeThreshold).toBeGreaterThan(0);
    expect(parsed.descriptorSets).toEqual(["<1234 bytes>"]);
    expect(parsed.admin).toEqual({ port: 9901, host: "127.0.0.1" });
  });

  it("redacts whatever sits under a secret-sounding name, anywhere, and bearer tokens by their look", () => {
    const c = config() as unknown as Record<string, unknown>;
    c.tracing = {
      otlp: { endpoint: "http://127.0.0.1:4318", headers: { authorization: "x", "x-api-key": "k" } },
    };
    c.auth = { jwt: { issuer: "me", clientSecret: "s3", keys: [{ kid: "a" }] }, header: "Bearer abc" };
    c.redis = { password: "pw", token: 42, useToken: true };
    const { json } = redactedConfigJson(c as unknown as GatewayConfig);
    const p = JSON.parse(json);
    expect(p.tracing.otlp.headers).toEqual({ authorization: REDACTED, "x-api-key": REDACTED });
    expect(p.tracing.otlp.endpoint).toBe("http://127.0.0.1:4318");
    expect(p.auth.jwt).toEqual({ issuer: "me", clientSecret: REDACTED, keys: REDACTED });
    expect(p.auth.header).toBe(REDACTED);
    expect(p.redis).toEqual({ password: REDACTED, token: REDACTED, useToken: true });
  });

  it("tells secret names from harmless ones", () => {
    for (const n of [
      "key",
      "privateKey",
      "api_key",
      "x-api-key",
      "accessToken",
      "password",
      "client_secret",
      "credentials",
    ])
      expect(isSecretName(n), n).toBe(true);
    for (const n of ["cert", "clientCa", "hashOn", "header", "endpoint", "requireClientCert", "name", "port"])
      expect(isSecretName(n), n).toBe(false);
  });
});
