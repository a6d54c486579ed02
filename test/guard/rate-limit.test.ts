import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { callError } from "../helpers/clients.js";
import { type SigningKey, signToken, signingKey } from "../helpers/jwks-server.js";

// In-memory token buckets in front of a real replica: a burst passes, then
// one token per interval; keys have their own buckets; a refusal is
// RESOURCE_EXHAUSTED (HTTP 429 for Connect unary) with retry-after and
// grpc-retry-pushback-ms. Calls in a batch go at once, so the refill during
// a batch (one token a second here) does not blur the counts.

const ECHO = "/acme.echo.v1.EchoService/Echo";

let replica: Replica;
let gateway: Gateway;
let url: string;
let key: SigningKey;

beforeAll(async () => {
  key = await signingKey("k1");
  replica = await startReplica({ name: "r1" });
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      clusters: { echo: { protocol: "grpc", endpoints: [replica.address], healthCheck: false } },
      auth: { jwt: { providers: { corp: { issuer: "https://id.test/", keys: [key.jwk] } } } },
      routes: [
        { match: { method: "/acme.echo.v1.EchoService/Sum" }, cluster: "echo", auth: { require: "corp" } },
        { match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" },
      ],
      rateLimits: [
        { match: { method: ECHO }, key: "header:x-user-id", tokensPerSecond: 1, burst: 3 },
        { match: { method: "/acme.echo.v1.EchoService/Write" }, key: "route", tokensPerSecond: 0.001, burst: 2 },
        { match: { method: "/acme.echo.v1.EchoService/Sum" }, key: "claim:sub", tokensPerSecond: 0.001, burst: 1 },
      ],
    },
    process.cwd(),
  );
  gateway = await startGateway(config, { descriptors: demoDescriptors });
  url = `http://127.0.0.1:${gateway.ports[0]}`;
});

afterAll(async () => {
  await gateway?.close();
  await replica?.close();
});

const client = () => createClient(EchoService, createGrpcTransport({ baseUrl: url }));

/** `n` Echo calls at once as `user`: how many passed, and the refusals. */
async function burst(user: string | undefined, n: number) {
  const headers: Record<string, string> = user ? { "x-user-id": user } : {};
  const results = await Promise.allSettled(
    Array.from({ length: n }, () => client().echo({ message: "x" }, { headers })),
  );
  const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as ConnectError] : []));
  return { passed: n - refused.length, refused };
}

describe("rate limits in memory", () => {
  it("lets a burst through, then refills one token per interval", async () => {
    const first = await burst("u1", 6);
    expect(first.passed).toBe(3);
    expect(first.refused.map((e) => [e.code, e.rawMessage])).toEqual(
      Array(3).fill([Code.ResourceExhausted, "rate limit exceeded"]),
    );
    const pushback = Number(first.refused[0].metadata.get("grpc-retry-pushback-ms"));
    expect(pushback).toBeGreaterThan(0);
    expect(pushback).toBeLessThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await burst("u1", 3)).passed).toBe(1);
  });

  it("keeps keys apart; a call without the key's header is not limited by the rule", async () => {
    expect((await burst("u2", 4)).passed).toBe(3);
    expect((await burst("u3", 4)).passed).toBe(3);
    expect((await burst(undefined, 8)).passed).toBe(8);
  });

  it("key route: one bucket for every caller of the route", async () => {
    const write = (user: string) => client().write({ key: user }, { headers: { "x-user-id": user } });
    await write("a");
    await write("b");
    expect((await callError(write("c"))).code).toBe(Code.ResourceExhausted);
  });

  it("key claim: a bucket per verified subject, counted after auth", async () => {
    const sum = async (sub: string) =>
      client().sum(
        (async function* () {
          yield { value: 1n };
        })(),
        { headers: { authorization: `Bearer ${await signToken(key, { sub }, { issuer: "https://id.test/" })}` } },
      );
    await sum("alice");
    expect((await callError(sum("alice"))).code).toBe(Code.ResourceExhausted);
    await expect(sum("bob")).resolves.toBeDefined();
    // No token: auth refuses it before any bucket is touched.
    const anonymous = await callError(client().sum((async function* () {})()));
    expect(anonymous.code).toBe(Code.Unauthenticated);
  });

  it("Connect unary: HTTP 429 with retry-after, grpc-retry-pushback-ms and CORS headers", async () => {
    const post = () =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${url}${ECHO}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-user-id": "u4", origin: "https://app.test" },
        });
        req.on("response", (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end(JSON.stringify({ message: "x" }));
      });
    const answers = await Promise.all(Array.from({ length: 4 }, post));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 429]);
    const over = answers.find((a) => a.status === 429)!;
    expect(JSON.parse(over.body)).toEqual({ code: "resource_exhausted", message: "rate limit exceeded" });
    expect(over.headers["retry-after"]).toBe("1");
    expect(Number(over.headers["grpc-retry-pushback-ms"])).toBeGreaterThan(0);
    expect(over.headers["access-control-allow-origin"]).toBe("https://app.test");
    // connect-node reads the same code from it.
    const stream = createClient(EchoService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    const err = await callError(stream.echo({ message: "x" }, { headers: { "x-user-id": "u4" } }));
    expect(err.code).toBe(Code.ResourceExhausted);
  });
});
