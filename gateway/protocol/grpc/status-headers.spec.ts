import { describe, expect, it } from "vitest";
import { Code, status } from "../../call/status.js";
import { decodeGrpcMessage, encodeGrpcMessage, statusFromGrpcHeaders, statusToGrpcHeaders } from "./status-headers.js";

describe("grpc-message encoding", () => {
  it("percent-encodes '%', controls and non-ASCII, and leaves other printable ASCII as it is", () => {
    expect(encodeGrpcMessage("plain text, with: punctuation!")).toBe("plain text, with: punctuation!");
    expect(encodeGrpcMessage("50% off")).toBe("50%25 off");
    expect(encodeGrpcMessage("line\nbreak\ttab")).toBe("line%0Abreak%09tab");
    expect(encodeGrpcMessage("größe ✓")).toBe("gr%C3%B6%C3%9Fe %E2%9C%93");
    expect(encodeGrpcMessage("\x7f")).toBe("%7F");
  });

  it("round-trips any string", () => {
    for (const m of ["", "ok", "50% off", "größe ✓ 🚀", "a\r\nb", "%41 is not A", "~!@#$^&*()_+`-=[]{}|;':\",./<>?"]) {
      expect(decodeGrpcMessage(encodeGrpcMessage(m))).toBe(m);
    }
  });

  it("keeps a value that is not valid percent-encoding as it came", () => {
    expect(decodeGrpcMessage("100%")).toBe("100%");
    expect(decodeGrpcMessage("%E0%A4%A")).toBe("%E0%A4%A");
  });
});

describe("statusToGrpcHeaders", () => {
  it("sends only grpc-status for OK without a message", () => {
    expect(statusToGrpcHeaders(status(Code.OK, ""))).toEqual({ "grpc-status": "0" });
  });

  it("adds an encoded grpc-message, and details as unpadded base64 google.rpc.Status", () => {
    const h = statusToGrpcHeaders(
      status(Code.NOT_FOUND, "no such key: 50%", [{ type: "acme.v1.Why", value: new Uint8Array([1, 2, 3, 4]) }]),
    );
    expect(h["grpc-status"]).toBe("5");
    expect(h["grpc-message"]).toBe("no such key: 50%25");
    expect(h["grpc-status-details-bin"]).toMatch(/^[A-Za-z0-9+/]+$/);
  });
});

describe("statusFromGrpcHeaders", () => {
  it("reads back what statusToGrpcHeaders wrote, details included", () => {
    const sent = status(Code.RESOURCE_EXHAUSTED, "slow down ✋", [
      { type: "google.rpc.RetryInfo", value: new Uint8Array([0x0a, 0x02, 0x08, 0x01]) },
      { type: "acme.v1.Empty", value: new Uint8Array() },
    ]);
    const got = statusFromGrpcHeaders(statusToGrpcHeaders(sent), "upstream");
    expect(got.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(got.message).toBe("slow down ✋");
    expect(got.details.map((d) => [d.type, [...d.value]])).toEqual([
      ["google.rpc.RetryInfo", [0x0a, 0x02, 0x08, 0x01]],
      ["acme.v1.Empty", []],
    ]);
  });

  it("takes the first of repeated values", () => {
    expect(statusFromGrpcHeaders({ "grpc-status": ["14", "0"] } as never, "up").code).toBe(Code.UNAVAILABLE);
  });

  it("makes a missing grpc-status INTERNAL, naming who left it out", () => {
    const s = statusFromGrpcHeaders({}, 'cluster "echo"');
    expect(s.code).toBe(Code.INTERNAL);
    expect(s.message).toBe('cluster "echo" ended the call without a grpc-status');
  });

  it("makes a grpc-status outside 0-16 UNKNOWN, quoting it", () => {
    for (const raw of ["17", "-1", "1.5", "abc"]) {
      const s = statusFromGrpcHeaders({ "grpc-status": raw }, "up");
      expect(s.code, raw).toBe(Code.UNKNOWN);
      expect(s.message).toContain(`invalid grpc-status "${raw}"`);
    }
  });

  // The spec's grammar is 1*DIGIT: Number("") is 0, and must not pass as OK.
  it("does not take an empty or malformed grpc-status for OK", () => {
    for (const raw of ["", " ", "0x0", " 0 ", "1e1"])
      expect(statusFromGrpcHeaders({ "grpc-status": raw }, "up").code).toBe(Code.UNKNOWN);
  });

  it("keeps code and message when the details cannot be decoded", () => {
    const s = statusFromGrpcHeaders(
      { "grpc-status": "3", "grpc-message": "bad%20input", "grpc-status-details-bin": "/////w" },
      "up",
    );
    expect(s).toEqual({ code: Code.INVALID_ARGUMENT, message: "bad input", details: [] });
  });
});
