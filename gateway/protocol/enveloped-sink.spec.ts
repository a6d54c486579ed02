import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FakeResponse } from "../../test/helpers/fake-response.js";
import { encodeEnvelope } from "../call/envelope.js";
import type { ServerRequest, ServerResponseLike } from "./contract.js";
import { grpcInbound } from "./grpc/inbound.js";
import { grpcWebInbound } from "./grpc-web/inbound.js";
import { connectInbound } from "./connect/inbound.js";

// EnvelopedSink is abstract; its behaviour is what the gRPC, gRPC-Web and
// Connect streaming sinks share, seen here through their sink().

function sinkFor(protocol: typeof grpcInbound, headers: Record<string, string>) {
  const req = {
    method: "POST",
    url: "/acme.echo.v1.EchoService/Echo",
    httpVersionMajor: 2,
    headers,
  } as unknown as ServerRequest;
  const res = new FakeResponse();
  return { sink: protocol.sink(req, res as unknown as ServerResponseLike), res };
}

const small = Buffer.from("hello");
const big = Buffer.alloc(1024, "x");

describe("EnvelopedSink headers", () => {
  it("writes the headers once, with the content type and what the gateway accepts", async () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    sink.headers({ "x-upstream": "1" });
    await sink.message(small);
    await sink.message(small);
    expect(res.writeHeads).toBe(1);
    expect(res.status).toBe(200);
    expect(res.head).toEqual({
      ":status": 200,
      "x-upstream": "1",
      "content-type": "application/grpc+proto",
      "grpc-accept-encoding": "identity, gzip",
    });
  });

  it("answers in the codec the client asked for", () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc+json" });
    sink.headers({});
    expect(res.head?.["content-type"]).toBe("application/grpc+json");
  });

  it("writes headers before the first message when the upstream sent none", async () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    await sink.message(small);
    expect(res.writeHeads).toBe(1);
    expect(res.head?.["content-type"]).toBe("application/grpc+proto");
    expect(res.body).toHaveLength(1);
  });

  it("does not let upstream metadata override the protocol's own headers", () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    sink.headers({ "content-type": "text/html", "grpc-accept-encoding": "snappy" });
    expect(res.head?.["content-type"]).toBe("application/grpc+proto");
    expect(res.head?.["grpc-accept-encoding"]).toBe("identity, gzip");
  });

  it("names gzip in the protocol's encoding header only when the client accepts it", () => {
    const plain = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    plain.sink.headers({});
    expect(plain.res.head).not.toHaveProperty("grpc-encoding");
    const gz = sinkFor(grpcInbound, { "content-type": "application/grpc", "grpc-accept-encoding": "identity, gzip" });
    gz.sink.headers({});
    expect(gz.res.head?.["grpc-encoding"]).toBe("gzip");
    const connect = sinkFor(connectInbound, {
      "content-type": "application/connect+proto",
      "connect-accept-encoding": "gzip",
    });
    connect.sink.headers({});
    expect(connect.res.head).toMatchObject({
      "content-type": "application/connect+proto",
      "connect-content-encoding": "gzip",
      "connect-accept-encoding": "gzip",
    });
  });
});

describe("EnvelopedSink messages", () => {
  it("writes the upstream's frame as received when it does not compress", async () => {
    const frame = encodeEnvelope(0, small);
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    await sink.message(small, frame);
    expect(res.body[0]).toBe(frame);
  });

  it("still writes the frame as received for a message below 1 KiB when the client accepts gzip", async () => {
    const data = Buffer.alloc(1023, "x");
    const frame = encodeEnvelope(0, data);
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc", "grpc-accept-encoding": "gzip" });
    await sink.message(data, frame);
    expect(res.body[0]).toBe(frame);
  });

  it("frames a message itself when no frame came with it", async () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    await sink.message(small);
    expect(Buffer.from(res.body[0])).toEqual(encodeEnvelope(0, small));
  });

  it("gzips a message of 1 KiB or more when the client accepts gzip, flagging it compressed", async () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc", "grpc-accept-encoding": "gzip" });
    const frame = encodeEnvelope(0, big);
    await sink.message(big, frame);
    const out = Buffer.from(res.body[0]);
    expect(out).not.toBe(frame);
    expect(out[0]).toBe(1);
    expect(out.readUInt32BE(1)).toBe(out.length - 5);
    expect(gunzipSync(out.subarray(5))).toEqual(big);
  });

  it("does not compress for a client that does not accept gzip", async () => {
    const frame = encodeEnvelope(0, big);
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    await sink.message(big, frame);
    expect(res.body[0]).toBe(frame);
  });

  it("in gRPC-Web text mode writes every message as its own padded base64 run, never compressed", async () => {
    const { sink, res } = sinkFor(grpcWebInbound, {
      "content-type": "application/grpc-web-text",
      "grpc-accept-encoding": "gzip",
    });
    const frame = encodeEnvelope(0, small);
    await sink.message(small, frame);
    await sink.message(big);
    expect(res.head?.["content-type"]).toBe("application/grpc-web-text+proto");
    expect(res.head).not.toHaveProperty("grpc-encoding");
    expect(res.body[0]).not.toBe(frame);
    const runs = res.body.map((c) => Buffer.from(c).toString("latin1"));
    for (const run of runs) expect(run).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(runs[0], "base64")).toEqual(frame);
    expect(Buffer.from(runs[1], "base64")).toEqual(encodeEnvelope(0, big));
  });

  it("writes nothing once the client has gone", async () => {
    const { sink, res } = sinkFor(grpcInbound, { "content-type": "application/grpc" });
    sink.headers({});
    res.destroyed = true;
    await sink.message(small);
    expect(res.body).toHaveLength(0);
  });
});
