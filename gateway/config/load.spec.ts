import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, validateConfigObject } from "./load.js";
import type { GatewayConfigInput } from "./input.js";

const MINIMAL = `
listeners: [{ port: 8080 }]
clusters:
  echo: { protocol: grpc, endpoints: ["127.0.0.1:50051"] }
routes:
  - { match: { prefix: / }, cluster: echo }
`;

async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

describe("parseConfig", () => {
  it("returns the normalized config", async () => {
    const config = await parseConfig(MINIMAL, "/nowhere");
    expect(config.listeners).toEqual([{ port: 8080, host: "0.0.0.0" }]);
    expect(config.clusters.get("echo")?.endpoints[0]).toEqual({
      address: "127.0.0.1:50051",
      host: "127.0.0.1",
      port: 50051,
      weight: 1,
      priority: 0,
    });
  });

  it("stops at YAML syntax errors", async () => {
    expect(await problemsOf(parseConfig("listeners: [\n", "/"))).toEqual([
      expect.stringMatching(/^YAML syntax error at line 2:1: /),
    ]);
  });

  it("explains an empty file", async () => {
    expect(await problemsOf(parseConfig("# nothing yet\n", "/"))).toEqual([
      "the config is empty (expected a mapping with listeners, clusters and routes)",
    ]);
  });

  it("reports schema, semantic and file problems together, once per path", async () => {
    const yaml = `
listeners: [{ port: 8080, tls: { cert: x.pem, key: x.pem } }]
clusters:
  echo: { protocol: http, endpoints: ["127.0.0.1"] }
routes:
  - { match: { prefix: / }, cluster: nope }
`;
    const problems = await problemsOf(parseConfig(yaml, "/cfg"));
    expect(problems).toEqual([
      'clusters.echo.protocol: "http" must be one of grpc, connect, grpc-web',
      'clusters.echo.endpoints[0]: "127.0.0.1" is not host:port (expected e.g. "127.0.0.1:50051")',
      'routes[0].cluster: "nope" is not a defined cluster (defined: echo)',
      'listeners[0].tls.cert: cannot read file "x.pem": ENOENT (looked for /cfg/x.pem)',
      'listeners[0].tls.key: cannot read file "x.pem": ENOENT (looked for /cfg/x.pem)',
    ]);
  });
});

describe("validateConfigObject", () => {
  const input: GatewayConfigInput = {
    listeners: [{ port: 0, tls: { cert: "mem:cert", key: "mem:key" } }],
    clusters: { echo: { protocol: "connect", http: "1.1", endpoints: [{ address: "localhost:9000" }] } },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
  };
  const memory = async (path: string) => new TextEncoder().encode(`-----BEGIN X-----\n${path}\n`);

  it("accepts code-built input and a custom file reader", async () => {
    const config = await validateConfigObject(input, "/base", memory);
    expect(config.listeners[0]?.tls?.cert).toBe("-----BEGIN X-----\n/base/mem:cert\n");
    expect(config.clusters.get("echo")?.http).toBe("1.1");
  });

  it("treats undefined keys as absent", async () => {
    const config = await validateConfigObject(
      { ...input, admin: undefined, listeners: [{ port: 0, host: undefined }] },
      "/",
    );
    expect(config.listeners).toEqual([{ port: 0, host: "0.0.0.0" }]);
  });

  it("does not let later mutation of the input reach the config", async () => {
    const copy = structuredClone({ ...input, listeners: [{ port: 1 }] });
    const config = await validateConfigObject(copy, "/");
    copy.routes[0]!.cluster = "changed";
    expect(config.routes[0]?.cluster).toBe("echo");
  });

  it("rejects things that are not a config", async () => {
    expect(await problemsOf(validateConfigObject([], "/"))).toEqual([
      "[] must be a mapping with listeners, clusters and routes",
    ]);
  });
});

describe("ConfigError", () => {
  it("lists every problem in its message", () => {
    const err = new ConfigError(["a: one", "b: two"], "gw.yaml");
    expect(err.message).toBe("invalid gateway config in gw.yaml (2 problems):\n  - a: one\n  - b: two");
    expect(err.name).toBe("ConfigError");
  });
});
