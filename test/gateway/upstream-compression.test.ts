// A cluster's `compression` over real sockets: a gateway in front of a demo
// replica, with a recording HTTP/2 hop in between that keeps the exact
// bytes the gateway sent upstream. The replica (connect-es) has to
// understand them too, and its answers come back compressed when the
// gateway asked for that.
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  ChatRequestSchema,
  EchoRequestSchema,
  EchoResponseSchema,
  EchoService,
} from "../../gen/acme/echo/v1/echo_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";
import type { UpstreamCompression, UpstreamProtocol } from "../../gateway/config/types.js";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { startRecordingProxy, type Recorded } from "../helpers/recording-proxy.js";
import { envelope, frames, h2Request } from "../helpers/raw.js";
import { values } from "../helpers/clients.js";

const PROTOCOLS: UpstreamProtocol[] = ["grpc", "grpc-web", "connect"];
/** Well above the 1 KiB threshold, and compressible. */
const BIG = "switchyard ".repeat(500);

let replica: Replica | undefined;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>> | undefined;
let f: Fixture | undefined;

afterEach(async () => {
  await f?.close();
  await proxy?.close();
  await replica?.close();
  f = proxy = replica = undefined;
});

async function start(protocol: UpstreamProtocol, compression?: UpstreamCompression) {
  replica = await startReplica({ name: "r1" });
  proxy = await startRecordingProxy(replica.address);
  f = await startFixture({ weights: [], extraEndpoints: [proxy.address], protocol, compression });
  return { echo: createClient(EchoService, createGrpcTransport({ baseUrl: f.url })), seen: proxy.seen };
}

/** The request messages the upstream received, inflated, with whether each came compressed. */
function requestMessages(r: Recorded): { compressed: boolean; data: Buffer }[] {
  if (r.headers["content-type"]?.startsWith("application/proto")) {
    // Connect unary: the body is the message, compressed as a whole or not.
    const compressed = r.headers["content-encoding"] === "gzip";
    return [{ compressed, data: compressed ? gunzipSync(r.body) : r.body }];
  }
  return frames(r.body).map((env) => ({
    compressed: (env.flags & 1) === 1,
    data: env.flags & 1 ? gunzipSync(env.data) : env.data,
  }));
}

const encodingHeaders = (r: Recorded) =>
  Object.fromEntries(
    Object.entries(r.headers).filter(([k]) => /(^|-)(content|accept)-encoding$|^grpc-(accept-)?encoding$/.test(k)),
  );

describe.each(PROTOCOLS)("compression: gzip to a %s cluster", (protocol) => {
  const unaryExpected =
    protocol === "connect"
      ? { "content-encoding": "gzip", "accept-encoding": "gzip" }
      : { "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" };

  it("gzips a unary request message and asks for compressed answers, which come back decoded", async () => {
    const { echo, seen } = await start(protocol, "gzip");
    const res = await echo.echo({ message: BIG });
    expect(res.message).toBe(BIG);
    expect(seen).toHaveLength(1);
    expect(encodingHeaders(seen[0])).toEqual(unaryExpected);
    const [m] = requestMessages(seen[0]);
    expect(m.compressed).toBe(true);
    expect(fromBinary(EchoRequestSchema, m.data).message).toBe(BIG);
    // The replica took up the offer: its answer was compressed on the wire.
    const answered =
      protocol === "connect" ? seen[0].responseHeaders["content-encoding"] : seen[0].responseHeaders["grpc-encoding"];
    expect(answered).toBe("gzip");
  });

  it("leaves a message under 1 KiB uncompressed", async () => {
    const { echo, seen } = await start(protocol, "gzip");
    expect((await echo.echo({ message: "small" })).message).toBe("small");
    const [m] = requestMessages(seen[0]);
    expect(m.compressed).toBe(false);
    expect(fromBinary(EchoRequestSchema, m.data).message).toBe("small");
    // Connect unary says nothing about a body it did not compress.
    if (protocol === "connect") expect(seen[0].headers["content-encoding"]).toBeUndefined();
  });

  it("compresses each large message of a stream, and not the small ones", async () => {
    const { echo, seen } = await start(protocol, "gzip");
    const got: string[] = [];
    for await (const r of echo.chat(
      values(create(ChatRequestSchema, { message: BIG }), create(ChatRequestSchema, { message: "hi" })),
    ))
      got.push(r.message);
    expect(got).toEqual([BIG, "hi"]);
    expect(encodingHeaders(seen[0])).toEqual(
      protocol === "connect"
        ? { "connect-content-encoding": "gzip", "connect-accept-encoding": "gzip" }
        : { "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" },
    );
    const sent = requestMessages(seen[0]);
    expect(sent.map((m) => m.compressed)).toEqual([true, false]);
    expect(sent.map((m) => fromBinary(ChatRequestSchema, m.data).message)).toEqual([BIG, "hi"]);
  });

  it("by default (identity) sends every message uncompressed and asks for no compression", async () => {
    const { echo, seen } = await start(protocol);
    expect((await echo.echo({ message: BIG })).message).toBe(BIG);
    expect(encodingHeaders(seen[0])).toEqual({});
    expect(requestMessages(seen[0]).map((m) => m.compressed)).toEqual([false]);
  });
});

describe("a client's own compression stops at the gateway", () => {
  const GRPC = {
    ":path": "/acme.echo.v1.EchoService/Echo",
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-encoding": "gzip",
  };
  const request = () => envelope(1, gzipSync(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: BIG }))));

  it("a gzip request reaches an identity cluster inflated", async () => {
    const { seen } = await start("grpc");
    const res = await h2Request(f!.url, GRPC, request());
    expect(fromBinary(EchoResponseSchema, frames(res.body)[0].data).message).toBe(BIG);
    expect(encodingHeaders(seen[0])).toEqual({});
    expect(requestMessages(seen[0]).map((m) => m.compressed)).toEqual([false]);
  });

  it("a gzip cluster gets it compressed again by the gateway (unary lane)", async () => {
    const { seen } = await start("grpc", "gzip");
    const res = await h2Request(f!.url, GRPC, request());
    expect(fromBinary(EchoResponseSchema, frames(res.body)[0].data).message).toBe(BIG);
    const [m] = requestMessages(seen[0]);
    expect(m.compressed).toBe(true);
    expect(fromBinary(EchoRequestSchema, m.data).message).toBe(BIG);
  });

  it("a transcoded request (Connect JSON in, proto out) is compressed for a gzip cluster", async () => {
    const { seen } = await start("grpc", "gzip");
    const echo = createClient(EchoService, createConnectTransport({ baseUrl: f!.url, httpVersion: "1.1" }));
    expect((await echo.echo({ message: BIG })).message).toBe(BIG);
    expect(seen[0].headers["content-type"]).toBe("application/grpc+proto");
    const [m] = requestMessages(seen[0]);
    expect(m.compressed).toBe(true);
    expect(fromBinary(EchoRequestSchema, m.data).message).toBe(BIG);
  });
});
