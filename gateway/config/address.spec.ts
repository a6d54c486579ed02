import { describe, expect, it } from "vitest";
import { isValidPort, parseHostPort } from "./address.js";

describe("parseHostPort", () => {
  it.each([
    ["127.0.0.1:50051", "127.0.0.1", 50051],
    ["localhost:8080", "localhost", 8080],
    ["echo.svc.cluster.local:443", "echo.svc.cluster.local", 443],
    ["[::1]:50051", "::1", 50051],
    ["[fe80::1%eth0]:9000", "fe80::1%eth0", 9000],
    ["host:70000", "host", 70000],
  ])("splits %s", (address, host, port) => {
    expect(parseHostPort(address)).toEqual({ host, port });
  });

  it.each(["127.0.0.1", ":50051", "host:", "::1:50051", "host:port", "http://host:80", "a b:1", "host:-1", ""])(
    "rejects %j",
    (address) => {
      expect(parseHostPort(address)).toBeUndefined();
    },
  );
});

describe("isValidPort", () => {
  it("accepts 1..65535 only", () => {
    expect(isValidPort(1)).toBe(true);
    expect(isValidPort(65535)).toBe(true);
    expect(isValidPort(0)).toBe(false);
    expect(isValidPort(65536)).toBe(false);
    expect(isValidPort(80.5)).toBe(false);
  });
});
