import { describe, expect, it } from "vitest";
import { RouteTable } from "./route-table.js";

describe("RouteTable", () => {
  const table = new RouteTable([
    { match: { method: "/acme.echo.v1.EchoService/Write" }, cluster: "writes", timeoutMs: 500 },
    { match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" },
    { match: { prefix: "/acme." }, cluster: "acme", timeoutMs: 2000 },
    { match: { prefix: "/" }, cluster: "default" },
  ]);

  it("tries routes in order: the first match wins, even when a later one also matches", () => {
    expect(table.match("/acme.echo.v1.EchoService/Write")).toEqual({
      cluster: "writes",
      timeoutMs: 500,
      index: 0,
      names: "method",
    });
    expect(table.match("/acme.echo.v1.EchoService/Echo")).toEqual({
      cluster: "echo",
      timeoutMs: undefined,
      index: 1,
      names: "service",
    });
    expect(table.match("/acme.other.v1.Other/Get")).toEqual({
      cluster: "acme",
      timeoutMs: 2000,
      index: 2,
      names: undefined,
    });
    expect(table.match("/grpc.health.v1.Health/Check")).toEqual({
      cluster: "default",
      timeoutMs: undefined,
      index: 3,
      names: undefined,
    });
  });

  it("matches a method exactly and a service by its whole name", () => {
    const t = new RouteTable([
      { match: { method: "/a.S/M" }, cluster: "m" },
      { match: { service: "a.T" }, cluster: "s" },
    ]);
    expect(t.match("/a.S/M")?.cluster).toBe("m");
    expect(t.match("/a.S/MM")).toBeUndefined();
    expect(t.match("/a.S/M/extra")).toBeUndefined();
    expect(t.match("/a.T/Any")?.cluster).toBe("s");
    expect(t.match("/a.TT/Any")).toBeUndefined();
    expect(t.match("/a.T")).toBeUndefined();
  });

  it("matches a prefix as a plain string prefix", () => {
    const t = new RouteTable([{ match: { prefix: "/acme.echo" }, cluster: "p" }]);
    expect(t.match("/acme.echo.v1.EchoService/Echo")?.cluster).toBe("p");
    expect(t.match("/acme.echoes.v2.Other/M")?.cluster).toBe("p");
    expect(t.match("/acme.ech/M")).toBeUndefined();
  });

  it("is undefined when no route matches, and stays so when asked again", () => {
    const t = new RouteTable([{ match: { service: "a.S" }, cluster: "s" }]);
    expect(t.match("/b.S/M")).toBeUndefined();
    expect(t.match("/b.S/M")).toBeUndefined();
    expect(t.match("/a.S/M")?.cluster).toBe("s");
    expect(t.match("/a.S/M")?.cluster).toBe("s");
  });

  it("remembers at most 10,000 paths, and answers paths past the bound all the same", () => {
    const t = new RouteTable([{ match: { prefix: "/even" }, cluster: "even" }]);
    for (let i = 0; i < 12_000; i++) {
      const path = i % 2 === 0 ? `/even/${i}` : `/odd/${i}`;
      expect(t.match(path)?.cluster).toBe(i % 2 === 0 ? "even" : undefined);
    }
    expect((t as unknown as { cache: Map<string, unknown> }).cache.size).toBe(10_000);
    expect(t.match("/even/11998")?.cluster).toBe("even");
    expect(t.match("/odd/11999")).toBeUndefined();
  });
});
