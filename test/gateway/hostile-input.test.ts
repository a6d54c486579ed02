import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope, frames, h1Request, h2Request } from "../helpers/raw.js";
import { CountResponseSchema, EchoRequestSchema, EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";

const ECHO = "/acme.echo.v1.EchoService/Echo";
const echoBytes = (message: string) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message })));

describe("bad and unusual input gets the protocol's error", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ maxMessageBytes: 1024 });
  });
  afterAll(() => f.close());

  it("gRPC: truncated envelope is INVALID_ARGUMENT", async () => {
    const res = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers" },
      Buffer.from([0, 0, 0, 0, 10, 1, 2]),
    );
    expect(res.status).toBe(200);
    const st = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
    expect(st).toBe("3");
  });

  it("gRPC: unknown method is UNIMPLEMENTED", async () => {
    const res = await h2Request(
      f.url,
      { ":path": "/nope.v1.Nope/Call", "content-type": "application/grpc", te: "trailers" },
      envelope(0, echoBytes("x")),
    );
    expect(res.headers["grpc-status"]).toBe("12");
    expect(String(res.headers["grpc-message"])).toContain("no route");
  });

  it("gRPC: message over the limit is RESOURCE_EXHAUSTED", async () => {
    const res = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers" },
      envelope(0, echoBytes("x".repeat(2000))),
    );
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe("8");
  });

  it("gRPC: compressed flag without grpc-encoding is INTERNAL", async () => {
    const res = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers" },
      envelope(1, echoBytes("x")),
    );
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe("13");
  });

  it("gRPC: bad grpc-timeout is INVALID_ARGUMENT", async () => {
    const res = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers", "grpc-timeout": "soon" },
      envelope(0, echoBytes("x")),
    );
    expect(res.headers["grpc-status"]).toBe("3");
  });

  it("gRPC: unsupported grpc-encoding is UNIMPLEMENTED", async () => {
    const res = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers", "grpc-encoding": "snappy" },
      envelope(0, echoBytes("x")),
    );
    expect(res.headers["grpc-status"]).toBe("12");
  });

  it("unsupported content type is 415 naming what is accepted", async () => {
    const res = await h1Request(`${f.url}${ECHO}`, "POST", { "content-type": "text/plain" }, "hello");
    expect(res.status).toBe(415);
    expect(res.headers["accept-post"]).toContain("application/grpc");
  });

  it("other HTTP methods on an RPC path get 405", async () => {
    const res = await h1Request(`${f.url}${ECHO}`, "DELETE", {});
    expect(res.status).toBe(405);
  });

  it("Connect: broken JSON is invalid_argument with HTTP 400", async () => {
    const res = await h1Request(`${f.url}${ECHO}`, "POST", { "content-type": "application/json" }, "{not json");
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).code).toBe("invalid_argument");
  });

  it("Connect: unknown route is unimplemented with HTTP 501", async () => {
    const res = await h1Request(`${f.url}/nope.v1.Nope/Call`, "POST", { "content-type": "application/json" }, "{}");
    expect(res.status).toBe(501);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "unimplemented" });
  });

  it("Connect: body over the limit is resource_exhausted with HTTP 429", async () => {
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/json" },
      JSON.stringify({ message: "x".repeat(4000) }),
    );
    expect(res.status).toBe(429);
    expect(JSON.parse(res.body.toString()).code).toBe("resource_exhausted");
  });

  it("Connect GET with JSON and with base64 proto", async () => {
    const q = new URLSearchParams({ connect: "v1", encoding: "json", message: JSON.stringify({ message: "via get" }) });
    const res = await h1Request(`${f.url}${ECHO}?${q}`, "GET", {});
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).message).toBe("via get");
    const q2 = new URLSearchParams({
      connect: "v1",
      encoding: "proto",
      base64: "1",
      message: echoBytes("b64").toString("base64url"),
    });
    const res2 = await h1Request(`${f.url}${ECHO}?${q2}`, "GET", {});
    expect(res2.status).toBe(200);
    expect(fromBinary(EchoResponseSchema, res2.body).message).toBe("b64");
  });

  it("Connect GET of a method with side effects is refused", async () => {
    const q = new URLSearchParams({ connect: "v1", encoding: "json", message: "{}" });
    const res = await h1Request(`${f.url}/acme.echo.v1.EchoService/Write?${q}`, "GET", {});
    expect(res.status).toBe(501);
    expect(JSON.parse(res.body.toString()).message).toContain("NO_SIDE_EFFECTS");
  });

  it("Connect GET with bad base64 is invalid_argument", async () => {
    const res = await h1Request(`${f.url}${ECHO}?connect=v1&encoding=proto&base64=1&message=%%%`, "GET", {});
    expect(res.status).toBe(400);
  });

  it("Connect bidi over HTTP/1.1 is served half-duplex: the whole request, then the whole response", async () => {
    const body = Buffer.concat([
      envelope(0, Buffer.from('{"message":"hi"}')),
      envelope(0, Buffer.from('{"message":"there"}')),
    ]);
    const res = await h1Request(
      `${f.url}/acme.echo.v1.EchoService/Chat`,
      "POST",
      { "content-type": "application/connect+json" },
      body,
    );
    const fr = frames(res.body);
    expect(fr.filter((x) => x.flags === 0).map((x) => JSON.parse(x.data.toString()).message)).toEqual(["hi", "there"]);
    expect(JSON.parse(fr.at(-1)!.data.toString())).toEqual({});
  });

  it("gRPC over HTTP/1.1 is refused with a pointer to gRPC-Web", async () => {
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/grpc" },
      envelope(0, echoBytes("x")),
    );
    expect(res.headers["grpc-status"]).toBe("13");
    expect(String(res.headers["grpc-message"])).toContain("gRPC-Web");
  });

  it("gRPC-Web text: padded chunks decode, responses are base64", async () => {
    // Two base64 runs, each padded, as a client flushing twice would send.
    const env = envelope(0, echoBytes("text mode"));
    const body = env.subarray(0, 4).toString("base64") + env.subarray(4).toString("base64");
    const res = await h1Request(`${f.url}${ECHO}`, "POST", { "content-type": "application/grpc-web-text" }, body);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/grpc-web-text+proto");
    const decoded = Buffer.concat(
      res.body
        .toString()
        .match(/[^=]+=*/g)!
        .map((s) => Buffer.from(s, "base64")),
    );
    const fr = frames(decoded);
    expect(fromBinary(EchoResponseSchema, fr[0].data).message).toBe("text mode");
    expect(fr[1].flags).toBe(0x80);
    expect(fr[1].data.toString()).toContain("grpc-status: 0");
  });

  it("gRPC-Web text: server streaming", async () => {
    const env = envelope(0, Buffer.from([0x08, 0x03])); // CountRequest{count: 3}
    const res = await h1Request(
      `${f.url}/acme.echo.v1.EchoService/Count`,
      "POST",
      { "content-type": "application/grpc-web-text" },
      env.toString("base64"),
    );
    const decoded = Buffer.concat(
      res.body
        .toString()
        .match(/[^=]+=*/g)!
        .map((s) => Buffer.from(s, "base64")),
    );
    const fr = frames(decoded);
    expect(fr.filter((x) => x.flags === 0).map((x) => fromBinary(CountResponseSchema, x.data).n)).toEqual([1, 2, 3]);
    expect(fr.at(-1)!.data.toString()).toContain("grpc-status: 0");
  });

  it("gRPC-Web text: bad base64 is INVALID_ARGUMENT", async () => {
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/grpc-web-text" },
      "!!!notbase64",
    );
    const decoded = Buffer.from(res.body.toString(), "base64");
    expect(frames(decoded).at(-1)!.data.toString()).toContain("grpc-status: 3");
  });

  it("gRPC-Web: bad envelope over HTTP/1.1 does not hang", async () => {
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/grpc-web+proto" },
      Buffer.from([0, 0, 0, 1, 0, 1]),
    );
    expect(frames(res.body).at(-1)!.data.toString()).toContain("grpc-status: 3");
  });

  it("CORS preflight and headers on errors", async () => {
    const pre = await h1Request(`${f.url}${ECHO}`, "OPTIONS", {
      origin: "http://example.test",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,x-grpc-web",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("http://example.test");
    expect(pre.headers["access-control-allow-headers"]).toContain("x-grpc-web");
    const err = await h1Request(
      `${f.url}/nope.v1.Nope/Call`,
      "POST",
      { "content-type": "application/json", origin: "http://example.test" },
      "{}",
    );
    expect(err.headers["access-control-allow-origin"]).toBe("http://example.test");
    expect(err.headers["access-control-expose-headers"]).toContain("grpc-status");
  });

  it("a client resetting its connection mid-call does not take the gateway down", async () => {
    const http2 = await import("node:http2");
    for (let i = 0; i < 20; i++) {
      const s = http2.connect(f.url);
      s.on("error", () => {});
      const r = s.request({
        ":method": "POST",
        ":path": "/acme.echo.v1.EchoService/Count",
        "content-type": "application/grpc",
        te: "trailers",
      });
      r.on("error", () => {});
      r.write(envelope(0, Buffer.from([0x08, 0x64, 0x10, 0x05])));
      await new Promise((r2) => setTimeout(r2, 5));
      s.destroy();
    }
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/json" },
      '{"message":"still here"}',
    );
    expect(JSON.parse(res.body.toString()).message).toBe("still here");
    // Clients going away are not the endpoint's fault: no failures counted, no ejection.
    const set = f.gateway.clusters.endpointSet("echo")!;
    const ep = set.list[0];
    expect(ep.outlier.consecutiveFailures).toBe(0);
    expect(set.outliers.isEjected(ep.outlier)).toBe(false);
  });
});
