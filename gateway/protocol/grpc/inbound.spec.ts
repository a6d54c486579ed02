import { describe, expect, it } from "vitest";
import { FakeResponse } from "../../../test/helpers/fake-response.js";
import { thrownCallError } from "../../../test/helpers/thrown.js";
import { Code, status } from "../../call/status.js";
import type { ServerRequest, ServerResponseLike } from "../contract.js";
import { grpcCodec, grpcInbound } from "./inbound.js";

describe("grpcCodec", () => {
  const base = "application/grpc";

  it("reads the plain type and +proto as proto, +json as json", () => {
    expect(grpcCodec("application/grpc", base)).toBe("proto");
    expect(grpcCodec("application/grpc+proto", base)).toBe("proto");
    expect(grpcCodec("application/grpc+json", base)).toBe("json");
  });

  it("ignores parameters after the type", () => {
    expect(grpcCodec("application/grpc; charset=utf-8", base)).toBe("proto");
    expect(grpcCodec("application/grpc+json;charset=utf-8", base)).toBe("json");
  });

  it("refuses other codecs and types that merely start alike", () => {
    expect(grpcCodec("application/grpc+thrift", base)).toBeUndefined();
    expect(grpcCodec("application/grpcx", base)).toBeUndefined();
    expect(grpcCodec("application/grpc-web", base)).toBeUndefined();
    expect(grpcCodec("application/grpc-web+proto", base)).toBeUndefined();
    expect(grpcCodec("application/grpx", base)).toBeUndefined();
    expect(grpcCodec("application/json", base)).toBeUndefined();
    expect(grpcCodec("", base)).toBeUndefined();
  });

  it("works against any base, as gRPC-Web uses it", () => {
    expect(grpcCodec("application/grpc-web-text+json", "application/grpc-web-text")).toBe("json");
    expect(grpcCodec("application/grpc-web-text", "application/grpc-web")).toBeUndefined();
  });
});

function request(
  headers: Record<string, string>,
  url = "/acme.echo.v1.EchoService/Echo",
  httpVersionMajor = 2,
): ServerRequest {
  return { method: "POST", url, httpVersionMajor, headers } as unknown as ServerRequest;
}

describe("grpcInbound.parse", () => {
  const opts = { maxBytes: 1 << 20 };

  it("makes the call head from the path, codec, timeout and application metadata", () => {
    const call = grpcInbound.parse(
      request(
        {
          "content-type": "application/grpc+json",
          "grpc-timeout": "250m",
          te: "trailers",
          "x-user": "ada",
          "grpc-accept-encoding": "gzip",
        },
        "/acme.echo.v1.EchoService/Echo?x=1",
      ),
      opts,
    );
    expect(call.head).toEqual({
      path: "/acme.echo.v1.EchoService/Echo",
      service: "acme.echo.v1.EchoService",
      method: "Echo",
      kind: undefined,
      codec: "json",
      metadata: { "x-user": "ada" },
      timeoutMs: 250,
    });
    expect(call.readWhole).toBeTypeOf("function");
  });

  it("refuses HTTP/1.1, an unknown content type, a path that is not a method and a bad grpc-timeout", () => {
    expect(
      thrownCallError(() => grpcInbound.parse(request({ "content-type": "application/grpc" }, undefined, 1), opts))
        .message,
    ).toMatch(/requires HTTP\/2/);
    expect(
      thrownCallError(() => grpcInbound.parse(request({ "content-type": "application/grpc+thrift" }), opts)).code,
    ).toBe(Code.INTERNAL);
    expect(
      thrownCallError(() => grpcInbound.parse(request({ "content-type": "application/grpc" }, "/nope"), opts)).code,
    ).toBe(Code.UNIMPLEMENTED);
    expect(
      thrownCallError(() =>
        grpcInbound.parse(request({ "content-type": "application/grpc", "grpc-timeout": "soon" }), opts),
      ).code,
    ).toBe(Code.INVALID_ARGUMENT);
    expect(
      thrownCallError(() =>
        grpcInbound.parse(request({ "content-type": "application/grpc", "grpc-encoding": "br" }), opts),
      ).code,
    ).toBe(Code.UNIMPLEMENTED);
  });
});

function grpcSink(withStream = true, headers: Record<string, string> = {}) {
  const res = new FakeResponse(withStream);
  const sink = grpcInbound.sink(
    request({ "content-type": "application/grpc", ...headers }),
    res as unknown as ServerResponseLike,
  );
  return { sink, res };
}

describe("gRPC response ending", () => {
  it("sends the status in trailers after the messages, with the upstream's trailers", async () => {
    const { sink, res } = grpcSink();
    sink.headers({});
    await sink.message(Buffer.from("m"));
    sink.end(status(Code.OK, ""), { "x-trailer": "t" });
    expect(res.trailers).toEqual({ "x-trailer": "t", "grpc-status": "0" });
    expect(res.ends).toBe(1);
    expect(res.responded).toHaveLength(0);
  });

  it("sends an error's code and percent-encoded message, over any grpc-status the upstream put in its trailers", () => {
    const { sink, res } = grpcSink();
    sink.headers({});
    sink.end(status(Code.UNAVAILABLE, "down 100%"), { "grpc-status": "0", "x-t": "v" });
    expect(res.trailers).toEqual({ "x-t": "v", "grpc-status": "14", "grpc-message": "down 100%25" });
  });

  it("answers trailers-only when nothing was sent: one HEADERS frame that ends the stream, no body", () => {
    const { sink, res } = grpcSink(true, { "grpc-accept-encoding": "gzip" });
    res.setHeader("access-control-allow-origin", "https://app.example");
    sink.end(status(Code.NOT_FOUND, "no such thing"), { "x-t": "v" });
    expect(res.responded).toEqual([
      {
        headers: {
          ":status": 200,
          "access-control-allow-origin": "https://app.example",
          "x-t": "v",
          "content-type": "application/grpc+proto",
          "grpc-accept-encoding": "identity, gzip",
          "grpc-encoding": "gzip",
          "grpc-status": "5",
          "grpc-message": "no such thing",
        },
        endStream: true,
      },
    ]);
    expect(res.body).toHaveLength(0);
    expect(res.trailers).toBeUndefined();
    expect(res.head).toBeUndefined();
  });

  it("falls back on writeHead and an empty end when the response has no stream", () => {
    const { sink, res } = grpcSink(false);
    sink.end(status(Code.INTERNAL, "boom"), {});
    expect(res.head).toMatchObject({
      ":status": 200,
      "content-type": "application/grpc+proto",
      "grpc-status": "13",
      "grpc-message": "boom",
    });
    expect(res.body).toHaveLength(0);
    expect(res.ends).toBe(1);
  });

  it("uses trailers, not trailers-only, once the headers went out without a message", () => {
    const { sink, res } = grpcSink();
    sink.headers({ "x-h": "1" });
    sink.end(status(Code.OK, ""), {});
    expect(res.responded).toHaveLength(0);
    expect(res.head).toMatchObject({ "x-h": "1" });
    expect(res.trailers).toEqual({ "grpc-status": "0" });
  });

  it("does nothing when the response is already over", () => {
    const { sink, res } = grpcSink();
    res.destroyed = true;
    sink.end(status(Code.CANCELLED, "gone"), {});
    expect(res.responded).toHaveLength(0);
    expect(res.ends).toBe(0);
  });
});
