import { describe, expect, it } from "vitest";
import { FakeResponse } from "../../../test/helpers/fake-response.js";
import { Code, status } from "../../call/status.js";
import { FLAG_GRPC_WEB_TRAILER } from "../../call/envelope.js";
import type { ServerRequest, ServerResponseLike } from "../contract.js";
import { grpcWebInbound, grpcWebType } from "./inbound.js";
import { parseWebTrailers } from "./trailer.js";

describe("grpcWebType", () => {
  it("tells binary from text and reads the codec", () => {
    expect(grpcWebType("application/grpc-web")).toEqual({ codec: "proto", text: false });
    expect(grpcWebType("application/grpc-web+json")).toEqual({ codec: "json", text: false });
    expect(grpcWebType("application/grpc-web-text")).toEqual({ codec: "proto", text: true });
    expect(grpcWebType("application/grpc-web-text+proto")).toEqual({ codec: "proto", text: true });
    expect(grpcWebType("application/grpc")).toBeUndefined();
  });
});

function webSink(contentType: string) {
  const req = {
    method: "POST",
    url: "/acme.echo.v1.EchoService/Echo",
    httpVersionMajor: 1,
    headers: { "content-type": contentType },
  } as unknown as ServerRequest;
  const res = new FakeResponse();
  return { sink: grpcWebInbound.sink(req, res as unknown as ServerResponseLike), res };
}

function trailerFrame(chunk: Uint8Array) {
  const b = Buffer.from(chunk);
  expect(b[0]).toBe(FLAG_GRPC_WEB_TRAILER);
  expect(b.readUInt32BE(1)).toBe(b.length - 5);
  return parseWebTrailers(b.subarray(5));
}

describe("gRPC-Web response ending", () => {
  it("ends the body with a trailer frame holding the status and the upstream's trailers", async () => {
    const { sink, res } = webSink("application/grpc-web+proto");
    sink.headers({});
    await sink.message(Buffer.from("m"));
    sink.end(status(Code.OK, ""), { "x-t": ["a", "b"] });
    expect(res.body).toHaveLength(2);
    expect(trailerFrame(res.body[1])).toEqual({ "x-t": ["a", "b"], "grpc-status": "0" });
    expect(res.ends).toBe(1);
  });

  it("writes 200 headers and then the trailer frame when nothing was sent (no trailers-only form)", () => {
    const { sink, res } = webSink("application/grpc-web");
    sink.end(status(Code.PERMISSION_DENIED, "not you"), { "grpc-status": "0" });
    expect(res.writeHeads).toBe(1);
    expect(res.head).toMatchObject({ ":status": 200, "content-type": "application/grpc-web+proto" });
    expect(res.head).not.toHaveProperty("grpc-status");
    expect(res.body).toHaveLength(1);
    expect(trailerFrame(res.body[0])).toEqual({ "grpc-status": "7", "grpc-message": "not you" });
  });

  it("in text mode sends the trailer frame as its own base64 run", () => {
    const { sink, res } = webSink("application/grpc-web-text");
    sink.end(status(Code.OK, ""), {});
    const run = Buffer.from(res.body[0]).toString("latin1");
    expect(run).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(trailerFrame(Buffer.from(run, "base64"))).toEqual({ "grpc-status": "0" });
  });

  it("does nothing when the response is already over", () => {
    const { sink, res } = webSink("application/grpc-web");
    res.writableEnded = true;
    sink.end(status(Code.OK, ""), {});
    expect(res.body).toHaveLength(0);
    expect(res.writeHeads).toBe(0);
  });
});
