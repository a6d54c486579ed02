import { describe, expect, it } from "vitest";
import { problemsAfter, validConfig } from "../../test/helpers/config-fixture.js";
import { checkSemantics } from "./semantics.js";

const valid = validConfig;
const problems = (mutate: (c: Record<string, any>) => void) => problemsAfter(checkSemantics, mutate);

describe("checkSemantics", () => {
  it("accepts a valid config", () => {
    expect(checkSemantics(valid())).toEqual([]);
  });

  it("requires routes to name a defined cluster", () => {
    expect(problems((c) => (c.routes[0].cluster = "nope"))).toEqual([
      'routes[0].cluster: "nope" is not a defined cluster (defined: echo)',
    ]);
    expect(problems((c) => (c.clusters = {}))).toEqual([
      'routes[0].cluster: "echo" is not a defined cluster (defined: none)',
    ]);
  });

  it("rejects HTTP/1.1 for gRPC upstreams only", () => {
    expect(problems((c) => (c.clusters.echo.http = "1.1"))[0]).toMatch(
      /^clusters\.echo\.http: "1\.1" is not allowed with protocol grpc/,
    );
    expect(problems((c) => (c.clusters.echo.http = 1.1))).toHaveLength(1);
    expect(problems((c) => Object.assign(c.clusters.echo, { protocol: "connect", http: "1.1" }))).toEqual([]);
  });

  it("checks endpoint ports in both endpoint forms", () => {
    expect(problems((c) => (c.clusters.echo.endpoints = ["a:0", { address: "b:70000" }]))).toEqual([
      'clusters.echo.endpoints[0]: "a:0" has port 0, which is not between 1 and 65535',
      'clusters.echo.endpoints[1].address: "b:70000" has port 70000, which is not between 1 and 65535',
    ]);
  });

  it("rejects an endpoint listed twice", () => {
    expect(problems((c) => (c.clusters.echo.endpoints = ["a:1", { address: "a:1", weight: 2 }]))).toEqual([
      'clusters.echo.endpoints[1].address: "a:1" is listed twice (also endpoints[0]; use weight instead)',
    ]);
  });

  it("rejects duplicate ports, including the admin port", () => {
    expect(
      problems((c) => {
        c.listeners = [{ port: 8080 }, { port: 8080, host: "127.0.0.1" }, { port: 0 }, { port: 0 }];
        c.admin = { port: 8080 };
      }),
    ).toEqual([
      "listeners[1].port: 8080 is already used by listeners[0]",
      "admin.port: 8080 is already used by listeners[0]",
    ]);
  });

  it("allows one port on different specific interfaces", () => {
    expect(
      problems(
        (c) =>
          (c.listeners = [
            { port: 8080, host: "127.0.0.1" },
            { port: 8080, host: "10.0.0.1" },
          ]),
      ),
    ).toEqual([]);
  });

  it("requires clientCa when client certificates are required", () => {
    expect(problems((c) => (c.listeners[0].tls = { cert: "c", key: "k", requireClientCert: true }))).toEqual([
      "listeners[0].tls.requireClientCert: true needs clientCa (the CA bundle that signs client certificates)",
    ]);
  });

  it("checks durations, and that deadlines are positive", () => {
    expect(
      problems((c) => {
        c.drainTimeout = "0s";
        c.clusters.echo.timeout = "0s";
        c.clusters.echo.connectTimeout = 0;
        c.routes[0].timeout = "900h";
      }),
    ).toEqual([
      'clusters.echo.timeout: "0s" must be greater than 0',
      "clusters.echo.connectTimeout: 0 must be greater than 0",
      'routes[0].timeout: "900h" is longer than the maximum of 2147483647ms (about 24.8 days)',
    ]);
  });

  it("checks descriptorRefresh: only with descriptors: reflection, and not too often", () => {
    expect(problems((c) => (c.clusters.echo.descriptorRefresh = "10s"))).toEqual([
      "clusters.echo.descriptorRefresh: only applies with descriptors: reflection (add that, or remove descriptorRefresh)",
    ]);
    expect(
      problems((c) => Object.assign(c.clusters.echo, { descriptors: "reflection", descriptorRefresh: "100ms" })),
    ).toEqual([
      'clusters.echo.descriptorRefresh: "100ms" is too often: at least 1s (each refresh asks every endpoint)',
    ]);
    expect(
      problems((c) => Object.assign(c.clusters.echo, { descriptors: "reflection", descriptorRefresh: 0 })),
    ).toEqual(["clusters.echo.descriptorRefresh: 0 must be greater than 0"]);
    expect(
      problems((c) => Object.assign(c.clusters.echo, { descriptors: "reflection", descriptorRefresh: "1s" })),
    ).toEqual([]);
  });

  it("refuses credentials with any origin, written or by default", () => {
    expect(problems((c) => (c.cors = { allowedOrigins: ["https://a.example", "*"], allowCredentials: true }))).toEqual([
      'cors.allowCredentials: true cannot be combined with allowedOrigins "*": list the origins that may send credentials',
    ]);
    expect(problems((c) => (c.cors = { allowCredentials: true }))).toEqual([
      'cors.allowCredentials: true cannot be combined with allowedOrigins "*" (the default): list the origins that may send credentials',
    ]);
    expect(problems((c) => (c.cors = { allowedOrigins: ["https://a.example"], allowCredentials: true }))).toEqual([]);
    expect(problems((c) => (c.cors = { allowedOrigins: ["*"], allowCredentials: false }))).toEqual([]);
  });

  it("refuses metrics without the admin listener that would serve them", () => {
    expect(problems((c) => (c.metrics = { enabled: true }))).toEqual([
      "metrics.enabled: true needs the admin listener, which serves /metrics: add admin: { port: 9901 } (it binds 127.0.0.1 unless admin.host says otherwise)",
    ]);
    expect(problems((c) => Object.assign(c, { metrics: { enabled: true }, admin: { port: 9901 } }))).toEqual([]);
    expect(problems((c) => (c.metrics = { enabled: false }))).toEqual([]);
  });

  it("tolerates malformed input without throwing", () => {
    for (const bad of [
      null,
      5,
      "x",
      [],
      { listeners: 5, clusters: [1], routes: { a: 1 } },
      { clusters: { a: null }, routes: [null] },
    ]) {
      expect(() => checkSemantics(bad)).not.toThrow();
    }
  });
});
