import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import {
  collect,
  decodeStatusDetails,
  echoGrpcJsClient,
  grpc,
  metadata,
  unary,
  type EchoGrpcJsClient,
} from "../helpers/grpc-js.js";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  type ChatResponse,
  type EchoResponse,
  type SumResponse,
} from "../../gen/acme/echo/v1/echo_pb.js";
import { envelope } from "../helpers/raw.js";

// @grpc/grpc-js is a second, independent gRPC implementation: if the gateway
// only worked with connect-es's idea of gRPC, these tests would say so.

const UPSTREAMS = ["grpc", "connect", "grpc-web"] as const;

describe.each(UPSTREAMS)("grpc-js client, upstream %s", (protocol) => {
  let f: Fixture;
  let client: EchoGrpcJsClient;
  beforeAll(async () => {
    f = await startFixture({ protocol });
    client = echoGrpcJsClient(`127.0.0.1:${f.port}`);
  });
  afterAll(async () => {
    client?.close();
    await f?.close();
  });

  it("unary Echo", async () => {
    const r = await unary<EchoResponse>((cb) => client.Echo({ message: "hello ünïcode" }, metadata(), {}, cb));
    expect(r.error?.details).toBeUndefined();
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.message).toBe("hello ünïcode");
    expect(r.response?.replica).toBe("r1");
  });

  it("server streaming Count", async () => {
    const { messages, error, status } = await collect(client.Count({ count: 5 }, metadata(), {}));
    expect(error).toBeUndefined();
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.n)).toEqual([1, 2, 3, 4, 5]);
    expect(messages.every((m) => m.replica === "r1")).toBe(true);
  });

  it("client streaming Sum with int64 values", async () => {
    const big = 9_007_199_254_740_993n; // 2^53 + 1: not representable as a double
    const r = await unary<SumResponse>((cb) => {
      const call = client.Sum(metadata(), {}, cb);
      call.write({ value: 40n });
      call.write({ value: 2n });
      call.write({ value: -1n });
      call.write({ value: big });
      call.end();
      return call;
    });
    expect(r.error).toBeUndefined();
    expect(r.response?.total).toBe(41n + big);
    expect(typeof r.response?.total).toBe("bigint");
  });

  it("bidi Chat answers each message before the next is sent", async () => {
    const call = client.Chat(metadata(), {});
    const done = collect(call);
    const answers: ChatResponse[] = [];
    const next = () => new Promise<ChatResponse>((resolve) => call.once("data", resolve));
    for (const m of ["a", "b", "c"]) {
      const answer = next();
      call.write({ message: m });
      // Full duplex end to end: the answer comes while the request stream is still open.
      answers.push(await answer);
    }
    call.end();
    const { error, status } = await done;
    expect(error).toBeUndefined();
    expect(status.code).toBe(grpc.status.OK);
    expect(answers.map((a) => a.message)).toEqual(["a", "b", "c"]);
  });

  it("request metadata reaches the replica; response headers and trailers come back", async () => {
    const r = await unary<EchoResponse>((cb) =>
      client.Echo({ message: "x" }, metadata({ "x-echo-trailer": "t-1" }), {}, cb),
    );
    expect(r.error).toBeUndefined();
    expect(r.headers?.get("x-echo-header")).toEqual(["t-1"]);
    expect(r.status.metadata.get("x-echo-trailer")).toEqual(["t-1"]);
    // The mirror is only set when asked for.
    const plain = await unary<unknown>((cb) => client.Echo({ message: "x" }, metadata(), {}, cb));
    expect(plain.headers?.get("x-echo-header")).toEqual([]);
    expect(plain.status.metadata.get("x-echo-trailer")).toEqual([]);
  });

  it("error status code, message and grpc-status-details-bin", async () => {
    const r = await unary<unknown>((cb) =>
      client.Echo({ message: "x" }, metadata({ "x-echo-fail": "not_found" }), {}, cb),
    );
    expect(r.response).toBeUndefined();
    expect(r.error?.code, r.error?.details).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe("requested failure");
    const bin = r.error?.metadata.get("grpc-status-details-bin") ?? [];
    expect(bin).toHaveLength(1);
    const st = decodeStatusDetails(bin[0] as Buffer);
    expect(st.code).toBe(grpc.status.NOT_FOUND);
    expect(st.message).toBe("requested failure");
    expect(st.details).toHaveLength(1);
    expect(st.details[0].typeUrl).toMatch(/\/acme\.echo\.v1\.EchoResponse$/);
    const detail = fromBinary(EchoResponseSchema, st.details[0].value);
    expect(detail.message).toBe("detail");
    expect(detail.replica).toBe("r1");
  });

  it("the deadline travels upstream as grpc-timeout", async () => {
    const r = await unary<unknown>((cb) =>
      client.Echo({ message: "x" }, metadata(), { deadline: Date.now() + 5000 }, cb),
    );
    expect(r.error).toBeUndefined();
    const seen = Number(r.headers?.get("x-echo-timeout-ms")[0]);
    expect(seen).toBeGreaterThan(3000);
    expect(seen).toBeLessThanOrEqual(5000);
  });

  it("deadline against a hanging replica is DEADLINE_EXCEEDED, promptly, and the gateway lets go of the call", async () => {
    f.replicas[0].faults.hang = true;
    try {
      const t0 = performance.now();
      const r = await unary<unknown>((cb) =>
        client.Echo({ message: "x" }, metadata(), { deadline: Date.now() + 300 }, cb),
      );
      const took = performance.now() - t0;
      expect(r.error?.code, r.error?.details).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(took).toBeGreaterThan(250);
      expect(took).toBeLessThan(2000);
      await expect.poll(() => f.gateway.inflight.size, { timeout: 2000 }).toBe(0);
    } finally {
      f.replicas[0].faults.hang = false;
    }
  });

  it("call.cancel() on a Count stream is CANCELLED at the client and cancels upstream", async () => {
    const before = f.replicas[0].stats.cancelled;
    const call = client.Count({ count: 1000, intervalMs: 20 }, metadata(), {});
    const got: number[] = [];
    call.on("data", (m: { n: number }) => {
      got.push(m.n);
      if (m.n === 3) call.cancel();
    });
    const { error, status } = await collect(call);
    expect(error?.code).toBe(grpc.status.CANCELLED);
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(got.slice(0, 3)).toEqual([1, 2, 3]);
    expect(got.length).toBeLessThan(10);
    await expect.poll(() => f.replicas[0].stats.cancelled, { timeout: 2000 }).toBeGreaterThan(before);
    await expect.poll(() => f.gateway.inflight.size, { timeout: 2000 }).toBe(0);
  });

  it.each([
    ["an unknown method of a routed service", "/acme.echo.v1.EchoService/Nope"],
    ["a method with no route", "/nope.v1.Nope/Call"],
  ])("%s is UNIMPLEMENTED", async (_what, path) => {
    const r = await unary<Buffer>((cb) =>
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "x" }))),
        metadata(),
        {},
        cb,
      ),
    );
    expect(r.error?.code, r.error?.details).toBe(grpc.status.UNIMPLEMENTED);
    expect(r.response).toBeUndefined();
  });
});

// The gRPC spec's Trailers-Only response is a single HEADERS frame carrying
// END_STREAM. grpc-js (and grpc-go) read grpc-status from the response headers
// only in that case; headers followed by an empty DATA frame that ends the
// stream count as "ended without gRPC status" (INTERNAL).
describe("gRPC Trailers-Only responses, at the frame level", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ protocol: "connect" });
  });
  afterAll(() => f?.close());

  function firstFrame(
    headers: Record<string, string>,
  ): Promise<{ endStream: boolean; status: unknown; dataBytes: number; trailers: boolean }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(f.url);
      session.on("error", reject);
      const req = session.request({
        ":method": "POST",
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let endStream = false;
      let status: unknown;
      let dataBytes = 0;
      let trailers = false;
      req.on("response", (h, flags) => {
        endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        status = h["grpc-status"];
      });
      req.on("data", (d: Buffer) => (dataBytes += d.length));
      req.on("trailers", () => (trailers = true));
      req.on("end", () => {
        session.close();
        resolve({ endStream, status, dataBytes, trailers });
      });
      req.on("error", reject);
      req.end(envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "x" }))));
    });
  }

  it.each([
    ["no route (the gateway's own error)", { ":path": "/nope.v1.Nope/Call" }, "12"],
    [
      "an upstream error translated from Connect",
      { ":path": "/acme.echo.v1.EchoService/Echo", "x-echo-fail": "not_found" },
      "5",
    ],
  ])("%s: grpc-status in headers comes with END_STREAM on that HEADERS frame", async (_what, headers, code) => {
    const r = await firstFrame(headers);
    expect(r.status).toBe(code);
    expect(r.dataBytes).toBe(0);
    expect(r.trailers).toBe(false);
    expect(r.endStream).toBe(true);
  });
});
