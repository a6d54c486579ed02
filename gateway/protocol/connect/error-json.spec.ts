import { describe, expect, it } from "vitest";
import { Code, status } from "../../call/status.js";
import {
  endStreamJson,
  parseEndStream,
  statusFromErrorJson,
  statusFromHttpError,
  statusToErrorJson,
} from "./error-json.js";

const names: Array<[Code, string]> = [
  [Code.CANCELLED, "canceled"],
  [Code.UNKNOWN, "unknown"],
  [Code.INVALID_ARGUMENT, "invalid_argument"],
  [Code.DEADLINE_EXCEEDED, "deadline_exceeded"],
  [Code.NOT_FOUND, "not_found"],
  [Code.ALREADY_EXISTS, "already_exists"],
  [Code.PERMISSION_DENIED, "permission_denied"],
  [Code.RESOURCE_EXHAUSTED, "resource_exhausted"],
  [Code.FAILED_PRECONDITION, "failed_precondition"],
  [Code.ABORTED, "aborted"],
  [Code.OUT_OF_RANGE, "out_of_range"],
  [Code.UNIMPLEMENTED, "unimplemented"],
  [Code.INTERNAL, "internal"],
  [Code.UNAVAILABLE, "unavailable"],
  [Code.DATA_LOSS, "data_loss"],
  [Code.UNAUTHENTICATED, "unauthenticated"],
];

describe("statusToErrorJson", () => {
  it("names every error code as the Connect spec spells it, and reads each name back", () => {
    for (const [code, name] of names) {
      const json = statusToErrorJson(status(code, ""));
      expect(json).toEqual({ code: name });
      expect(statusFromErrorJson(json, Code.UNKNOWN, "up").code).toBe(code);
    }
  });

  it("writes details with unpadded base64 values, and debug only when there is one", () => {
    const json = statusToErrorJson(
      status(Code.NOT_FOUND, "no such key", [
        { type: "acme.v1.Why", value: new Uint8Array([1, 2, 3, 4]), debug: { key: "k" } },
        { type: "acme.v1.Two", value: new Uint8Array([0xfb, 0xff]) },
      ]),
    );
    expect(json).toEqual({
      code: "not_found",
      message: "no such key",
      details: [
        { type: "acme.v1.Why", value: "AQIDBA", debug: { key: "k" } },
        { type: "acme.v1.Two", value: "+/8" },
      ],
    });
  });
});

describe("statusFromErrorJson", () => {
  it("round-trips a status with details through JSON text", () => {
    const sent = status(Code.PERMISSION_DENIED, "nope ✋", [
      { type: "acme.v1.Why", value: new Uint8Array([0, 255, 7]) },
    ]);
    const got = statusFromErrorJson(JSON.parse(JSON.stringify(statusToErrorJson(sent))), Code.UNKNOWN, "up");
    expect(got.code).toBe(Code.PERMISSION_DENIED);
    expect(got.message).toBe("nope ✋");
    expect(got.details.map((d) => [d.type, [...d.value]])).toEqual([["acme.v1.Why", [0, 255, 7]]]);
  });

  it("reads padded base64 too", () => {
    const got = statusFromErrorJson(
      { code: "internal", details: [{ type: "t", value: "AQIDBA==" }] },
      Code.UNKNOWN,
      "up",
    );
    expect([...got.details[0].value]).toEqual([1, 2, 3, 4]);
  });

  it("uses the fallback code when the body names none, and UNKNOWN for a name it does not know", () => {
    expect(statusFromErrorJson({ message: "m" }, Code.UNAVAILABLE, "up")).toEqual({
      code: Code.UNAVAILABLE,
      message: "m",
      details: [],
    });
    expect(statusFromErrorJson({ code: "teapot" }, Code.UNAVAILABLE, "up").code).toBe(Code.UNKNOWN);
    expect(statusFromErrorJson({ code: 14 }, Code.UNAVAILABLE, "up").code).toBe(Code.UNKNOWN);
  });

  it("never makes an error body OK", () => {
    expect(statusFromErrorJson({ code: "ok" }, Code.UNKNOWN, "up").code).toBe(Code.UNKNOWN);
    expect(statusFromErrorJson({}, Code.OK, "up").code).toBe(Code.UNKNOWN);
  });

  it("says who sent a body that is not a JSON object", () => {
    for (const json of [undefined, null, "text", 42]) {
      const s = statusFromErrorJson(json, Code.INTERNAL, 'cluster "echo"');
      expect(s).toEqual({
        code: Code.INTERNAL,
        message: 'cluster "echo" sent an error without a JSON body',
        details: [],
      });
    }
  });

  it("drops malformed details and keeps the rest", () => {
    const s = statusFromErrorJson(
      { code: "aborted", details: [{ type: "t" }, { value: "AA" }, null, { type: "ok", value: "AA" }] },
      Code.UNKNOWN,
      "up",
    );
    expect(s.details.map((d) => d.type)).toEqual(["ok"]);
  });
});

describe("Connect end-of-stream message", () => {
  it("is {} for OK without trailers", () => {
    expect(Buffer.from(endStreamJson(status(Code.OK, ""), {})).toString()).toBe("{}");
  });

  it("carries the error and the trailers, every value as an array", () => {
    const json = JSON.parse(
      Buffer.from(endStreamJson(status(Code.ABORTED, "conflict"), { "x-one": "1", "x-many": ["a", "b"] })).toString(),
    );
    expect(json).toEqual({
      error: { code: "aborted", message: "conflict" },
      metadata: { "x-one": ["1"], "x-many": ["a", "b"] },
    });
  });

  it("parses back to the same status and trailers", () => {
    const data = endStreamJson(status(Code.DATA_LOSS, "gone", [{ type: "t", value: new Uint8Array([9]) }]), {
      "x-many": ["a", "b"],
    });
    const { status: s, trailers } = parseEndStream(data, "up");
    expect(s.code).toBe(Code.DATA_LOSS);
    expect(s.message).toBe("gone");
    expect([...s.details[0].value]).toEqual([9]);
    expect(trailers).toEqual({ "x-many": ["a", "b"] });
    expect(parseEndStream(endStreamJson(status(Code.OK, ""), {}), "up")).toEqual({
      status: { code: Code.OK, message: "", details: [] },
      trailers: {},
    });
  });

  it("lower-cases trailer keys and skips values that are not arrays", () => {
    const { trailers } = parseEndStream(Buffer.from('{"metadata":{"X-Up":["1"],"x-bad":"2"}}'), "up");
    expect(trailers).toEqual({ "x-up": ["1"] });
  });

  it("makes an end-of-stream message that is not JSON INTERNAL, naming the sender", () => {
    const { status: s } = parseEndStream(Buffer.from("{not json"), 'cluster "echo"');
    expect(s.code).toBe(Code.INTERNAL);
    expect(s.message).toBe('cluster "echo" sent an invalid end-of-stream message');
  });
});

describe("statusFromHttpError", () => {
  it("reads a Connect error body when there is one", () => {
    const s = statusFromHttpError(409, Buffer.from('{"code":"already_exists","message":"dup"}'), "up");
    expect(s).toEqual({ code: Code.ALREADY_EXISTS, message: "dup", details: [] });
  });

  it("maps the HTTP status without a JSON body, and keeps it for Connect unary clients", () => {
    const s = statusFromHttpError(404, Buffer.from("<html>not found</html>"), 'cluster "echo"');
    expect(s).toEqual({
      code: Code.UNIMPLEMENTED,
      message: 'cluster "echo" answered HTTP 404',
      details: [],
      httpStatus: 404,
    });
    expect(statusFromHttpError(503, new Uint8Array(), "up").code).toBe(Code.UNAVAILABLE);
  });

  it("falls back on the HTTP status's code for a JSON body without a code", () => {
    expect(statusFromHttpError(429, Buffer.from('{"message":"busy"}'), "up")).toEqual({
      code: Code.UNAVAILABLE,
      message: "busy",
      details: [],
    });
  });
});
