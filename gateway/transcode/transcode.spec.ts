import { create, createRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { thrownCallError } from "../../test/helpers/thrown.js";
import { EchoRequestSchema, file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { Code } from "../call/status.js";
import { transcoder } from "./transcode.js";

const registry = createRegistry(file_acme_echo_v1_echo);
const binary = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "héllo ✓" }));

describe("transcoder", () => {
  it("is undefined when both sides use the same codec: the bytes pass untouched", () => {
    expect(transcoder("proto", "proto", EchoRequestSchema, registry, "request")).toBeUndefined();
    expect(transcoder("json", "json", EchoRequestSchema, registry, "response")).toBeUndefined();
  });

  it("turns JSON into binary", () => {
    const t = transcoder("json", "proto", EchoRequestSchema, registry, "request")!;
    expect(Buffer.from(t(Buffer.from('{"message":"héllo ✓"}')))).toEqual(Buffer.from(binary));
  });

  it("turns binary into JSON", () => {
    const t = transcoder("proto", "json", EchoRequestSchema, registry, "request")!;
    expect(JSON.parse(Buffer.from(t(binary)).toString())).toEqual({ message: "héllo ✓" });
  });

  it("round-trips a message, the empty one included", () => {
    const toJson = transcoder("proto", "json", EchoRequestSchema, registry, "response")!;
    const toProto = transcoder("json", "proto", EchoRequestSchema, registry, "response")!;
    expect(fromBinary(EchoRequestSchema, toProto(toJson(binary))).message).toBe("héllo ✓");
    expect(Buffer.from(toJson(new Uint8Array())).toString()).toBe("{}");
    expect(toProto(Buffer.from("{}")).byteLength).toBe(0);
  });

  it("blames the client for a bad request: INVALID_ARGUMENT", () => {
    const fromJson = transcoder("json", "proto", EchoRequestSchema, registry, "request")!;
    const utf8 = thrownCallError(() => fromJson(new Uint8Array([0x7b, 0xff, 0x7d])));
    expect(utf8.code).toBe(Code.INVALID_ARGUMENT);
    expect(utf8.message).toBe("request message is not valid UTF-8 JSON");
    const json = thrownCallError(() => fromJson(Buffer.from('{"message":')));
    expect(json.code).toBe(Code.INVALID_ARGUMENT);
    expect(json.message).toContain("cannot decode request message as JSON acme.echo.v1.EchoRequest");
    expect(thrownCallError(() => fromJson(Buffer.from('{"nope":1}'))).code).toBe(Code.INVALID_ARGUMENT);
    expect(thrownCallError(() => fromJson(Buffer.from('{"message":42}'))).code).toBe(Code.INVALID_ARGUMENT);
    const fromProto = transcoder("proto", "json", EchoRequestSchema, registry, "request")!;
    const bin = thrownCallError(() => fromProto(new Uint8Array([0x0a, 0x05, 0x61])));
    expect(bin.code).toBe(Code.INVALID_ARGUMENT);
    expect(bin.message).toContain("cannot decode request message as binary acme.echo.v1.EchoRequest");
  });

  it("blames the upstream for a bad response: INTERNAL", () => {
    const fromJson = transcoder("json", "proto", EchoRequestSchema, registry, "response")!;
    const utf8 = thrownCallError(() => fromJson(new Uint8Array([0xc3, 0x28])));
    expect(utf8.code).toBe(Code.INTERNAL);
    expect(utf8.message).toBe("response message is not valid UTF-8 JSON");
    expect(thrownCallError(() => fromJson(Buffer.from("not json"))).code).toBe(Code.INTERNAL);
    const fromProto = transcoder("proto", "json", EchoRequestSchema, registry, "response")!;
    expect(thrownCallError(() => fromProto(new Uint8Array([0x0a, 0x05, 0x61]))).code).toBe(Code.INTERNAL);
  });
});
