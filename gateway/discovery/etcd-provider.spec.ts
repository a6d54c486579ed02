import { describe, expect, it } from "vitest";
import { etcdEndpoints } from "./etcd-provider.js";

const at = (entries: Record<string, string>) => etcdEndpoints(new Map(Object.entries(entries)));

describe("etcdEndpoints (grpc-go's etcd resolver layout)", () => {
  it("reads Addr, and weight and priority from Metadata; other metadata is ignored", () => {
    expect(
      at({
        "/s/b": JSON.stringify({ Addr: "127.0.0.1:50052", Metadata: { weight: 2, priority: 1, zone: "a" } }),
        "/s/a": JSON.stringify({ Addr: "127.0.0.1:50051" }),
        "/s/c": JSON.stringify({ Addr: "[::1]:50053", Metadata: "a string, as some Go services write" }),
        "/s/d": JSON.stringify({ Addr: "10.0.0.4:50054", Metadata: null }),
      }),
    ).toEqual({
      endpoints: [
        { address: "127.0.0.1:50051", host: "127.0.0.1", port: 50051, weight: 1, priority: 0 },
        { address: "127.0.0.1:50052", host: "127.0.0.1", port: 50052, weight: 2, priority: 1 },
        { address: "[::1]:50053", host: "::1", port: 50053, weight: 1, priority: 0 },
        { address: "10.0.0.4:50054", host: "10.0.0.4", port: 50054, weight: 1, priority: 0 },
      ],
      skipped: [],
    });
  });

  it("skips a malformed value, naming its key, and keeps the others", () => {
    const { endpoints, skipped } = at({
      "/s/good": JSON.stringify({ Addr: "127.0.0.1:50051" }),
      "/s/text": "127.0.0.1:50052",
      "/s/noaddr": JSON.stringify({ addr: "127.0.0.1:50053" }),
      "/s/port": JSON.stringify({ Addr: "127.0.0.1:99999" }),
      "/s/weight": JSON.stringify({ Addr: "127.0.0.1:50054", Metadata: { weight: 0 } }),
      "/s/priority": JSON.stringify({ Addr: "127.0.0.1:50055", Metadata: { priority: "high" } }),
    });
    expect(endpoints.map((e) => e.address)).toEqual(["127.0.0.1:50051"]);
    expect(skipped).toHaveLength(5);
    expect(skipped.find((s) => s.startsWith("key /s/text:"))).toMatch(/not JSON/);
    expect(skipped.find((s) => s.startsWith("key /s/noaddr:"))).toMatch(/no "Addr"/);
    expect(skipped.find((s) => s.startsWith("key /s/port:"))).toMatch(/port 1-65535/);
    expect(skipped.find((s) => s.startsWith("key /s/weight:"))).toMatch(/weight 0/);
    expect(skipped.find((s) => s.startsWith("key /s/priority:"))).toMatch(/priority "high"/);
  });

  it("counts an address registered under two keys once", () => {
    const { endpoints } = at({
      "/s/r1": JSON.stringify({ Addr: "127.0.0.1:50051", Metadata: { weight: 3 } }),
      "/s/r1-restarted": JSON.stringify({ Addr: "127.0.0.1:50051" }),
    });
    expect(endpoints).toEqual([{ address: "127.0.0.1:50051", host: "127.0.0.1", port: 50051, weight: 3, priority: 0 }]);
  });

  it("an empty prefix is an empty list, not a failure", () => {
    expect(at({})).toEqual({ endpoints: [], skipped: [] });
  });
});
