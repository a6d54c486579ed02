import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FakeResponse } from "../../../test/helpers/fake-response.js";
import { Code, status } from "../../call/status.js";
import type { ServerRequest, ServerResponseLike } from "../contract.js";
import { connectForm, connectInbound } from "./inbound.js";

function request(
  method: string,
  headers: Record<string, string>,
  url = "/acme.echo.v1.EchoService/Echo",
): ServerRequest {
  return { method, url, httpVersionMajor: 2, headers } as unknown as ServerRequest;
}

describe("connectForm", () => {
  it("tells unary from streaming and reads the codec from the content type", () => {
    expect(connectForm(request("POST", { "content-type": "application/proto" }))).toEqual({
      stream: false,
      codec: "proto",
    });
    expect(connectForm(request("POST", { "content-type": "application/json" }))).toEqual({
      stream: false,
      codec: "json",
    });
    expect(connectForm(request("POST", { "content-type": "application/connect+proto" }))).toEqual({
      stream: true,
      codec: "proto",
    });
    expect(connectForm(request("POST", { "content-type": "application/connect+json" }))).toEqual({
      stream: true,
      codec: "json",
    });
  });

  it("ignores parameters and case", () => {
    expect(connectForm(request("POST", { "content-type": "application/json; charset=utf-8" }))).toEqual({
      stream: false,
      codec: "json",
    });
    expect(connectForm(request("POST", { "content-type": "Application/Connect+JSON" }))).toEqual({
      stream: true,
      codec: "json",
    });
  });

  it("reads a GET's codec from its encoding parameter", () => {
    expect(connectForm(request("GET", {}, "/s.S/M?encoding=json&message=%7B%7D"))).toEqual({
      stream: false,
      codec: "json",
    });
    expect(connectForm(request("GET", {}, "/s.S/M?encoding=proto"))).toEqual({ stream: false, codec: "proto" });
  });

  it("is undefined for what is not Connect", () => {
    expect(connectForm(request("POST", { "content-type": "application/grpc" }))).toBeUndefined();
    expect(connectForm(request("POST", { "content-type": "application/grpc-web+json" }))).toBeUndefined();
    expect(connectForm(request("POST", { "content-type": "text/plain" }))).toBeUndefined();
    expect(connectForm(request("POST", {}))).toBeUndefined();
  });
});

function sinkFor(headers: Record<string, string>) {
  const res = new FakeResponse();
  return { sink: connectInbound.sink(request("POST", headers), res as unknown as ServerResponseLike), res };
}

describe("Connect streaming response ending", () => {
  it("ends with an end-of-stream envelope (flag 0x02) holding {} for OK", () => {
    const { sink, res } = sinkFor({ "content-type": "application/connect+proto" });
    sink.headers({});
    sink.end(status(Code.OK, ""), {});
    const last = Buffer.from(res.body.at(-1)!);
    expect(last[0]).toBe(0x02);
    expect(last.subarray(5).toString()).toBe("{}");
    expect(res.statusCode).toBe(200);
  });

  it("puts an error and the trailers in the end-of-stream JSON, still with HTTP 200", () => {
    const { sink, res } = sinkFor({ "content-type": "application/connect+json" });
    sink.end(status(Code.UNAVAILABLE, "down"), { "x-t": "v" });
    expect(res.statusCode).toBe(200);
    expect(res.head?.["content-type"]).toBe("application/connect+json");
    const last = Buffer.from(res.body.at(-1)!);
    expect(last[0]).toBe(0x02);
    expect(JSON.parse(last.subarray(5).toString())).toEqual({
      error: { code: "unavailable", message: "down" },
      metadata: { "x-t": ["v"] },
    });
  });
});

describe("Connect unary response", () => {
  it("answers OK with the message as the body and trailers as trailer- headers", () => {
    const { sink, res } = sinkFor({ "content-type": "application/proto" });
    sink.headers({ "x-h": "1" });
    sink.message(Buffer.from("payload"));
    sink.end(status(Code.OK, ""), { "x-t": "v" });
    expect(res.statusCode).toBe(200);
    expect(res.head).toEqual({ ":status": 200, "x-h": "1", "trailer-x-t": "v", "content-type": "application/proto" });
    expect(Buffer.concat(res.body).toString()).toBe("payload");
  });

  it("gzips a body of 1 KiB or more when the client accepts it", () => {
    const { sink, res } = sinkFor({ "content-type": "application/json", "accept-encoding": "gzip, br" });
    const big = Buffer.alloc(2048, "a");
    sink.message(big);
    sink.end(status(Code.OK, ""), {});
    expect(res.head?.["content-encoding"]).toBe("gzip");
    expect(gunzipSync(Buffer.concat(res.body))).toEqual(big);
  });

  it("answers an error with its HTTP status and a JSON error body", () => {
    const { sink, res } = sinkFor({ "content-type": "application/proto" });
    sink.end(status(Code.NOT_FOUND, "no such key"), {});
    expect(res.statusCode).toBe(404);
    expect(res.head?.["content-type"]).toBe("application/json");
    expect(JSON.parse(Buffer.concat(res.body).toString())).toEqual({ code: "not_found", message: "no such key" });
  });

  it("keeps an upstream's bare HTTP status", () => {
    const { sink, res } = sinkFor({ "content-type": "application/proto" });
    sink.end({ ...status(Code.UNIMPLEMENTED, "upstream answered HTTP 404"), httpStatus: 404 }, {});
    expect(res.statusCode).toBe(404);
  });
});
