import { demoDescriptors } from "../../gateway/demo.js";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  EchoService,
  EchoResponseSchema,
  SumResponseSchema,
  WriteResponseSchema,
} from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { startScriptedUpstream, type Script } from "../helpers/scripted-upstream.js";
import { callError, values } from "../helpers/clients.js";

const UNAVAILABLE = 14;
const ok = (reply: Buffer) => ({ status: 0, reply });
const echoReply = Buffer.from(
  toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: "ok", replica: "scripted" })),
);

// gRPC A6 details, checked against exactly what reached a raw upstream.
describe("retry semantics (A6)", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(
    script: Script,
    cluster: Record<string, unknown> = {},
    extraEndpoints: Array<{ address: string; weight: number }> = [],
  ) {
    const up = await startScriptedUpstream(script);
    cleanup.push(up.close);
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          c: {
            protocol: "grpc",
            endpoints: [...extraEndpoints, { address: up.address, weight: 1 }],
            healthCheck: false,
            slowStart: 0,
            retryPolicy: { initialBackoff: "5ms", maxBackoff: "10ms" },
            ...cluster,
          },
        },
        routes: [{ match: { prefix: "/" }, cluster: "c" }],
      },
      process.cwd(),
    );
    const gw: Gateway = await startGateway(config, { descriptors: demoDescriptors });
    cleanup.push(() => gw.close());
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gw.ports[0]}` }));
    return { up, client, gw };
  }

  it("retries a safe method and tells the upstream how many attempts came before", async () => {
    const { up, client } = await setup((n) => (n < 2 ? { status: UNAVAILABLE } : ok(echoReply)));
    const res = await client.echo({ message: "x" });
    expect(res.message).toBe("ok");
    expect(up.seen.map((s) => s.headers["grpc-previous-rpc-attempts"])).toEqual([undefined, "1", "2"]);
    // Every attempt carried the same request bytes.
    expect(new Set(up.seen.map((s) => s.body.toString("hex"))).size).toBe(1);
  });

  it("honours grpc-retry-pushback-ms, and a negative pushback stops retries", async () => {
    const { up, client } = await setup((n) =>
      n === 0
        ? { status: UNAVAILABLE, pushbackMs: "300" }
        : n === 1
          ? ok(echoReply)
          : { status: UNAVAILABLE, pushbackMs: "-1" },
    );
    await client.echo({ message: "x" });
    expect(up.seen[1].at - up.seen[0].at).toBeGreaterThanOrEqual(290);
    const err = await callError(client.echo({ message: "y" }));
    expect(err.code).toBe(Code.Unavailable);
    expect(up.seen).toHaveLength(3);
  });

  it("never repeats a method with side effects once it may have arrived", async () => {
    const { up, client } = await setup(() => ({ status: UNAVAILABLE, message: "try later" }));
    const err = await callError(client.write({ key: "k", value: "v" }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("try later");
    expect(up.seen).toHaveLength(1);
  });

  it("retries a method with side effects when the first endpoint refused the connection", async () => {
    const writeReply = Buffer.from(
      toBinary(WriteResponseSchema, create(WriteResponseSchema, { version: 1n, replica: "scripted" })),
    );
    // The dead endpoint's weight makes it the first pick.
    const { up, client } = await setup(() => ok(writeReply), {}, [{ address: "127.0.0.1:1", weight: 100 }]);
    const res = await client.write({ key: "k", value: "v" });
    expect(res.version).toBe(1n);
    expect(up.seen).toHaveLength(1);
  });

  it("one deadline covers every attempt; no attempt starts after it", async () => {
    const { up, client } = await setup(() => ({ status: UNAVAILABLE, pushbackMs: "200" }), {
      retryPolicy: { maxAttempts: 5 },
    });
    const t0 = performance.now();
    const err = await callError(client.echo({ message: "x" }, { timeoutMs: 300 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(up.seen).toHaveLength(2);
  });

  it("a client-streaming method marked safe in config is retried with its request messages replayed", async () => {
    const sumReply = Buffer.from(
      toBinary(SumResponseSchema, create(SumResponseSchema, { total: 6n, replica: "scripted" })),
    );
    const { up, client } = await setup((n) => (n === 0 ? { status: UNAVAILABLE } : ok(sumReply)), {
      idempotentMethods: ["/acme.echo.v1.EchoService/Sum"],
    });
    const res = await client.sum(values({ value: 1n }, { value: 2n }, { value: 3n }));
    expect(res.total).toBe(6n);
    expect(up.seen).toHaveLength(2);
    expect(up.seen[1].body.equals(up.seen[0].body)).toBe(true);
    expect(up.seen[0].body.length).toBeGreaterThan(15);
  });

  it("without the config mark, a client stream is not retried", async () => {
    const { up, client } = await setup(() => ({ status: UNAVAILABLE }));
    const err = await callError(client.sum(values({ value: 1n })));
    expect(err.code).toBe(Code.Unavailable);
    expect(up.seen).toHaveLength(1);
  });
});

describe("hedging (A6)", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  const reply = (name: string) =>
    Buffer.from(toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: "ok", replica: name })));

  async function twoUpstreams(a: Script, b: Script, hedgingDelay: string) {
    const A = await startScriptedUpstream(a);
    const B = await startScriptedUpstream(b);
    cleanup.push(A.close, B.close);
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          c: {
            protocol: "grpc",
            // A takes the first attempt; a hedge must go to a different endpoint.
            endpoints: [
              { address: A.address, weight: 1000 },
              { address: B.address, weight: 1 },
            ],
            healthCheck: false,
            outlierDetection: false,
            slowStart: 0,
            hedgingPolicy: { maxAttempts: 2, hedgingDelay },
          },
        },
        routes: [{ match: { prefix: "/" }, cluster: "c" }],
      },
      process.cwd(),
    );
    const gw = await startGateway(config, { descriptors: demoDescriptors });
    cleanup.push(() => gw.close());
    return {
      A,
      B,
      client: createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gw.ports[0]}` })),
    };
  }

  it("a hedge goes to another endpoint after the delay; the first answer wins and the loser is cancelled upstream", async () => {
    const { A, B, client } = await twoUpstreams(
      () => ({ ...ok(reply("A")), delayMs: 2000 }),
      () => ok(reply("B")),
      "50ms",
    );
    // Measured from before the call: A's own arrival can lag the attempt's start on a busy machine.
    const sent = performance.now();
    const res = await client.echo({ message: "x" });
    expect(res.replica).toBe("B");
    expect(A.seen[0].at).toBeLessThan(B.seen[0].at);
    expect(B.seen[0].at - sent).toBeGreaterThanOrEqual(45);
    expect(B.seen[0].headers["grpc-previous-rpc-attempts"]).toBe("1");
    await expect.poll(() => A.seen[0].cancelled, { timeout: 2000 }).toBe(true);
  });

  it("a non-fatal status sends the next hedge at once; a fatal one ends the call", async () => {
    const { A, B, client } = await twoUpstreams(
      (n) => (n === 0 ? { status: UNAVAILABLE } : { status: 3, message: "bad request" }),
      () => ok(reply("B")),
      "1s",
    );
    const t0 = performance.now();
    expect((await client.echo({ message: "x" })).replica).toBe("B");
    expect(performance.now() - t0).toBeLessThan(500);
    const err = await callError(client.echo({ message: "y" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(B.seen).toHaveLength(1);
    expect(A.seen).toHaveLength(2);
  });

  it("never hedges a method with side effects", async () => {
    const writeReply = Buffer.from(
      toBinary(WriteResponseSchema, create(WriteResponseSchema, { version: 1n, replica: "A" })),
    );
    const { A, B, client } = await twoUpstreams(
      () => ({ ...ok(writeReply), delayMs: 300 }),
      () => ok(writeReply),
      "20ms",
    );
    await client.write({ key: "k", value: "v" });
    expect(A.seen).toHaveLength(1);
    expect(B.seen).toHaveLength(0);
  });
});
