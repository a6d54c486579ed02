import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { callError } from "../helpers/clients.js";
import { startRecordingProxy } from "../helpers/recording-proxy.js";
import { generateTestPki, type TestPki } from "../helpers/tls-certs.js";
import { type JwksServer, type SigningKey, signToken, signingKey, startJwksServer } from "../helpers/jwks-server.js";

// JWT auth per route against a key set the test serves over HTTPS (its own
// CA, named by jwksCa), tokens signed with jose, and a recording hop in front
// of a real replica, so each test asserts what the upstream saw, or that it
// saw nothing.

const ISSUER = "https://id.test/";
const ECHO = "/acme.echo.v1.EchoService/Echo";
const COOLDOWN_MS = 2000;

let pki: TestPki;
let dir: string;
let jwks: JwksServer;
let replica: Replica;
let recorder: Awaited<ReturnType<typeof startRecordingProxy>>;
let gateway: Gateway;
let url: string;
let es: SigningKey; // ES256, published from the start
let rsa: SigningKey; // RS256, published from the start
let ed: SigningKey; // EdDSA, published from the start
let rotated: SigningKey; // published later
let stranger: SigningKey; // never published
let other: SigningKey; // the "other" provider's key, inline in the config
let input: Record<string, any>; // the config as written

beforeAll(async () => {
  pki = generateTestPki();
  dir = mkdtempSync(join(tmpdir(), "switchyard-jwt-"));
  writeFileSync(join(dir, "ca.pem"), pki.ca);
  [es, rsa, ed, rotated, stranger, other] = await Promise.all([
    signingKey("es-1"),
    signingKey("rsa-1", "RS256"),
    signingKey("ed-1", "EdDSA"),
    signingKey("es-2"),
    signingKey("es-1"), // same kid as `es`, another key: a bad signature
    signingKey("other-1"),
  ]);
  jwks = await startJwksServer(pki.server, [es, rsa, ed]);
  replica = await startReplica({ name: "r1" });
  recorder = await startRecordingProxy(replica.address);
  input = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    clusters: { echo: { protocol: "grpc", endpoints: [recorder.address], healthCheck: false } },
    auth: {
      jwt: {
        providers: {
          corp: {
            issuer: ISSUER,
            audiences: ["switchyard"],
            jwksUri: jwks.url.replace("localhost", "127.0.0.1"),
            jwksCa: "ca.pem",
            jwksCooldown: `${COOLDOWN_MS}ms`,
          },
          other: { issuer: "https://other.test/", keys: [other.jwk] },
        },
      },
    },
    routes: [
      {
        match: { method: ECHO },
        cluster: "echo",
        auth: { require: "corp", claimsToHeaders: { sub: "x-user-id", "org.id": "x-org" } },
      },
      { match: { method: "/acme.echo.v1.EchoService/Count" }, cluster: "echo", auth: { require: "corp" } },
      {
        match: { method: "/acme.echo.v1.EchoService/Write" },
        cluster: "echo",
        auth: { require: "corp", requireClaims: { scope: "echo.write" } },
      },
      { match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" },
    ],
  };
  gateway = await startGateway(await validateConfigObject(input, dir), { descriptors: demoDescriptors });
  url = `http://127.0.0.1:${gateway.ports[0]}`;
});

afterAll(async () => {
  await gateway?.close();
  await recorder?.close();
  await replica?.close();
  await jwks?.close();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const token = (key: SigningKey, claims: Record<string, unknown> = { sub: "alice" }, opts = {}) =>
  signToken(key, claims, { issuer: ISSUER, audience: "switchyard", ...opts });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const grpcClient = () => createClient(EchoService, createGrpcTransport({ baseUrl: url }));

/** What the upstream saw of the calls `run` made. */
async function upstreamSaw(run: () => Promise<unknown>) {
  const before = recorder.seen.length;
  await run();
  return recorder.seen.slice(before);
}

describe("JWT per route", () => {
  it("passes a valid token and sends its claims upstream, the client's copies and the token removed", async () => {
    const t = await token(es, { sub: "alice", org: { id: "acme" } });
    const seen = await upstreamSaw(async () => {
      const r = await grpcClient().echo({ message: "hi" }, { headers: { ...bearer(t), "x-user-id": "mallory" } });
      expect(r.message).toBe("hi");
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].headers["x-user-id"]).toBe("alice");
    expect(seen[0].headers["x-org"]).toBe("acme");
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it("accepts RS256 and EdDSA keys from the same set", async () => {
    for (const key of [rsa, ed]) {
      const r = await grpcClient().echo({ message: key.alg }, { headers: bearer(await token(key)) });
      expect(r.message).toBe(key.alg);
    }
  });

  it("strips a spoofed claim header on routes that require nothing too", async () => {
    const seen = await upstreamSaw(() =>
      grpcClient().sum(
        (async function* () {
          yield { value: 1n };
        })(),
        { headers: { "x-user-id": "mallory", "x-org": "evil", "x-other": "kept" } },
      ),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0].headers["x-user-id"]).toBeUndefined();
    expect(seen[0].headers["x-org"]).toBeUndefined();
    expect(seen[0].headers["x-other"]).toBe("kept");
  });

  it("refuses every bad token with UNAUTHENTICATED and the same message, and sends nothing upstream", async () => {
    const cases: Record<string, Record<string, string>> = {
      "no token": {},
      "not a bearer token": { authorization: "Basic YWxpY2U6cHc=" },
      garbage: bearer("not.a.jwt"),
      "bad signature": bearer(await token(stranger)),
      expired: bearer(await token(es, { sub: "alice" }, { expiresIn: -120 })),
      "not yet valid": bearer(await token(es, { sub: "alice" }, { notBefore: 600 })),
      "wrong audience": bearer(await token(es, { sub: "alice" }, { audience: "someone-else" })),
      "wrong issuer": bearer(await token(es, { sub: "alice" }, { issuer: "https://evil.test/" })),
      "unknown issuer's own key": bearer(await signToken(stranger, { sub: "x" }, { audience: "switchyard" })),
    };
    const seen = await upstreamSaw(async () => {
      for (const [name, headers] of Object.entries(cases)) {
        const err = await callError(grpcClient().echo({ message: name }, { headers }));
        expect([name, err.code, err.rawMessage]).toEqual([
          name,
          Code.Unauthenticated,
          "missing or invalid credentials",
        ]);
      }
    });
    expect(seen).toEqual([]);
  });

  it("allows the clock skew on expiry", async () => {
    const r = await grpcClient().echo(
      { message: "late" },
      { headers: bearer(await token(es, {}, { expiresIn: -20 })) },
    );
    expect(r.message).toBe("late");
  });

  it("answers a valid token the route does not admit with PERMISSION_DENIED", async () => {
    const otherToken = await signToken(other, { sub: "bob" }, { issuer: "https://other.test/" });
    const noScope = await token(es, { sub: "alice", scope: "echo.read" });
    const seen = await upstreamSaw(async () => {
      for (const [t, call] of [
        [otherToken, () => grpcClient().echo({ message: "x" }, { headers: bearer(otherToken) })],
        [noScope, () => grpcClient().write({ key: "k" }, { headers: bearer(noScope) })],
      ] as const) {
        const err = await callError(call());
        expect([t.slice(0, 8), err.code, err.rawMessage]).toEqual([
          t.slice(0, 8),
          Code.PermissionDenied,
          "not allowed to call this method",
        ]);
      }
    });
    expect(seen).toEqual([]);
    const ok = await token(es, { sub: "alice", scope: "echo.read echo.write" });
    await expect(grpcClient().write({ key: "k" }, { headers: bearer(ok) })).resolves.toBeDefined();
  });
});

describe("each protocol's own refusal", () => {
  it("gRPC-Web and Connect streaming: the code in their trailers", async () => {
    for (const transport of [
      createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: url, httpVersion: "2" }),
    ]) {
      const client = createClient(EchoService, transport);
      const unary = await callError(client.echo({ message: "x" }));
      expect(unary.code).toBe(Code.Unauthenticated);
      const stream = await callError(async () => {
        for await (const _ of client.count({ count: 2 })) {
          // nothing may arrive
        }
      });
      expect(stream.code).toBe(Code.Unauthenticated);
    }
  });

  it("Connect unary: HTTP 401 and 403 with the JSON error, www-authenticate and CORS headers", async () => {
    const post = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${url}${ECHO}`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: "https://app.test", ...headers },
        });
        req.on("response", (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end(JSON.stringify({ message: "x" }));
      });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ code: "unauthenticated", message: "missing or invalid credentials" });
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    expect(missing.headers["access-control-allow-origin"]).toBe("https://app.test");
    const denied = await post(bearer(await signToken(other, { sub: "bob" }, { issuer: "https://other.test/" })));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toEqual({ code: "permission_denied", message: "not allowed to call this method" });
    expect(denied.headers["access-control-allow-origin"]).toBe("https://app.test");
  });
});

describe("key rotation", () => {
  it("fetches a new kid once, and a burst of unknown kids causes no fetch storm", async () => {
    // The set is fetched by now (the tests above); let the cooldown pass.
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 100));
    const before = jwks.requests;
    jwks.publish([es, rsa, ed, rotated]);
    const fresh = await Promise.all(Array.from({ length: 20 }, () => token(rotated)));
    const results = await Promise.allSettled(
      fresh.map((t) => grpcClient().echo({ message: "new" }, { headers: bearer(t) })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(20);
    expect(jwks.requests - before).toBe(1);

    // Inside the cooldown now: tokens naming a key nobody published.
    const unknown = await Promise.all(Array.from({ length: 50 }, (_, i) => token(stranger, {}, { kid: `nope-${i}` })));
    const refused = await Promise.all(
      unknown.map((t) => callError(grpcClient().echo({ message: "x" }, { headers: bearer(t) }))),
    );
    expect(refused.every((e) => e.code === Code.Unauthenticated)).toBe(true);
    expect(jwks.requests - before).toBe(1);

    // After the cooldown, one more burst of unknown kids is one fetch, not fifty.
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 100));
    await Promise.all(unknown.map((t) => callError(grpcClient().echo({ message: "x" }, { headers: bearer(t) }))));
    expect(jwks.requests - before).toBe(2);
  });
});

describe("reload", () => {
  it("keeps a provider's fetched keys when the provider did not change, and starts afresh when it did", async () => {
    const call = async () =>
      expect((await grpcClient().echo({ message: "r" }, { headers: bearer(await token(es)) })).message).toBe("r");
    await call();
    const before = jwks.requests;
    input.routes[3].timeout = "5s";
    gateway.reconfigure(await validateConfigObject(input, dir));
    await call();
    expect(jwks.requests).toBe(before);
    input.auth.jwt.providers.corp.clockSkew = "30s";
    gateway.reconfigure(await validateConfigObject(input, dir));
    await call();
    expect(jwks.requests).toBe(before + 1);
  });
});
