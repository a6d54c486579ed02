import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile } from "../../gateway/config/load.js";
import { defaultHedgingPolicy, defaultResilience } from "../../gateway/config/resilience.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/gateway.yaml", import.meta.url));
const PEM = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-config-"));
  await mkdir(join(dir, "certs"));
  await writeFile(join(dir, "certs", "gw.pem"), PEM("CERTIFICATE"));
  await writeFile(join(dir, "certs", "gw-key.pem"), PEM("PRIVATE KEY"));
  await writeFile(join(dir, "certs", "ca.pem"), PEM("CERTIFICATE"));
  await writeFile(join(dir, "not-pem.pem"), "hello");
  const set = create(FileDescriptorSetSchema, { file: [{ name: "extra.proto", package: "extra.v1" }] });
  await writeFile(join(dir, "image.binpb"), toBinary(FileDescriptorSetSchema, set));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(yaml: string, name = "gateway.yaml"): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, yaml);
  return path;
}

async function problemsFor(yaml: string): Promise<string[]> {
  const err = await loadConfigFile(await writeConfig(yaml, "bad.yaml")).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err.problems;
}

const GOOD_CLUSTERS = `
clusters:
  echo: { protocol: grpc, endpoints: ["127.0.0.1:50051"] }
routes:
  - { match: { prefix: / }, cluster: echo }
`;

describe("loadConfigFile", () => {
  it("loads the annotated example cleanly", async () => {
    const config = await loadConfigFile(EXAMPLE);
    expect(config.listeners).toEqual([{ port: 8080, host: "0.0.0.0" }]);
    expect(config.admin).toEqual({ port: 9901, host: "127.0.0.1" });
    expect(config.drainTimeoutMs).toBe(10_000);
    const echo = config.clusters.get("echo")!;
    expect(echo).toMatchObject({ protocol: "grpc", http: "2", codec: "proto", timeoutMs: 30_000 });
    expect(echo.endpoints.map((e) => [e.address, e.weight])).toEqual([
      ["127.0.0.1:50051", 3],
      ["127.0.0.1:50052", 1],
    ]);
    expect(config.routes[0]).toEqual({
      match: { method: "/acme.echo.v1.EchoService/Echo" },
      cluster: "echo",
      timeoutMs: 2000,
    });
    // The example spells out the defaults, plus hedging (off by default) and one idempotent method.
    expect(echo.resilience).toEqual({
      ...defaultResilience(),
      hedgingPolicy: defaultHedgingPolicy(),
      idempotentMethods: ["/acme.echo.v1.EchoService/Sum"],
    });
  });

  it("reads TLS and descriptor files relative to the config file", async () => {
    const path = await writeConfig(`
listeners:
  - port: 8443
    tls: { cert: certs/gw.pem, key: certs/gw-key.pem, clientCa: certs/ca.pem, requireClientCert: true }
descriptorSets: [image.binpb]
clusters:
  secure:
    protocol: connect
    http: "1.1"
    tls: { ca: ${join(dir, "certs", "ca.pem")}, insecureSkipVerify: false }
    endpoints: ["upstream.internal:443"]
    retryPolicy: { maxAttempts: 3 }
routes:
  - { match: { service: acme.echo.v1.EchoService }, cluster: secure }
`);
    const config = await loadConfigFile(path);
    expect(config.listeners[0]!.tls).toEqual({
      cert: PEM("CERTIFICATE"),
      key: PEM("PRIVATE KEY"),
      clientCa: PEM("CERTIFICATE"),
      requireClientCert: true,
    });
    expect(config.descriptorSets).toHaveLength(1);
    expect(config.clusters.get("secure")!.tls).toEqual({ ca: PEM("CERTIFICATE"), insecureSkipVerify: false });
    expect(config.clusters.get("secure")!.resilience.retryPolicy).toMatchObject({
      enabled: true,
      maxAttempts: 3,
      initialBackoffMs: 25,
    });
  });

  it("names the file when the config itself cannot be read", async () => {
    const missing = join(dir, "missing.yaml");
    await expect(loadConfigFile(missing)).rejects.toThrow(`cannot read config file ${JSON.stringify(missing)}: ENOENT`);
  });

  it("puts the file name in the error message", async () => {
    const err = await loadConfigFile(await writeConfig("listeners: 5\n", "named.yaml")).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^invalid gateway config in .*named\.yaml \(\d+ problems?\):\n {2}- /);
  });

  it.each([
    [
      "YAML syntax errors with line:column",
      "listeners:\n\t- port: 8080\n",
      ["YAML syntax error at line 2:1: Tabs are not allowed as indentation"],
    ],
    [
      "every YAML syntax error",
      "listeners:\n  - port: 8080\n  bad: [\n",
      [
        "YAML syntax error at line 3:1: All mapping items must start at the same column",
        "YAML syntax error at line 4:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      ],
    ],
    [
      "duplicate YAML keys",
      `listeners: [{ port: 1 }]\nlisteners: [{ port: 2 }]\n${GOOD_CLUSTERS}`,
      ["YAML syntax error at line 2:1: Map keys must be unique"],
    ],
    ["an empty file", "", ["the config is empty (expected a mapping with listeners, clusters and routes)"]],
    [
      "a bad protocol",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: http, endpoints: ["a:1"] }\nroutes: [{ match: { prefix: / }, cluster: echo }]\n`,
      ['clusters.echo.protocol: "http" must be one of grpc, connect, grpc-web'],
    ],
    [
      "an address without a port",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo:\n    protocol: grpc\n    endpoints: ["a:1", { address: "127.0.0.1" }]\nroutes: [{ match: { prefix: / }, cluster: echo }]\n`,
      ['clusters.echo.endpoints[1].address: "127.0.0.1" is not host:port (expected e.g. "127.0.0.1:50051")'],
    ],
    [
      "an undefined cluster",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: grpc, endpoints: ["a:1"] }\nroutes: [{ match: { prefix: / }, cluster: nope }]\n`,
      ['routes[0].cluster: "nope" is not a defined cluster (defined: echo)'],
    ],
    [
      "a missing TLS file",
      `listeners: [{ port: 8443, tls: { cert: x.pem, key: certs/gw-key.pem } }]\n${GOOD_CLUSTERS}`,
      [expect.stringMatching(/^listeners\[0\]\.tls\.cert: cannot read file "x\.pem": ENOENT \(looked for .*x\.pem\)$/)],
    ],
    [
      "a file that is not PEM",
      `listeners: [{ port: 8443, tls: { cert: not-pem.pem, key: certs/gw-key.pem } }]\n${GOOD_CLUSTERS}`,
      ['listeners[0].tls.cert: "not-pem.pem" is not a PEM file (no "-----BEGIN" line)'],
    ],
    [
      "HTTP/1.1 to a gRPC upstream",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: grpc, http: "1.1", endpoints: ["a:1"] }\nroutes: [{ match: { prefix: / }, cluster: echo }]\n`,
      [expect.stringMatching(/^clusters\.echo\.http: "1\.1" is not allowed with protocol grpc/)],
    ],
    [
      "an endpoint port out of range",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: grpc, endpoints: ["a:70000"] }\nroutes: [{ match: { prefix: / }, cluster: echo }]\n`,
      ['clusters.echo.endpoints[0]: "a:70000" has port 70000, which is not between 1 and 65535'],
    ],
    [
      "duplicate listener ports",
      `listeners: [{ port: 8080 }, { port: 8080 }]\n${GOOD_CLUSTERS}`,
      ["listeners[1].port: 8080 is already used by listeners[0]"],
    ],
    [
      "a malformed method match",
      `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: grpc, endpoints: ["a:1"] }\nroutes: [{ match: { method: acme.Echo.Echo }, cluster: echo }]\n`,
      [
        'routes[0].match.method: "acme.Echo.Echo" is not /pkg.Service/Method (expected e.g. "/acme.echo.v1.EchoService/Echo")',
      ],
    ],
    [
      "no listeners, clusters or routes",
      "listeners: []\nclusters: {}\nroutes: []\n",
      [
        "listeners: [] must be a list with at least one listener",
        "clusters: {} must be a mapping with at least one cluster",
        "routes: [] must be a list with at least one route",
      ],
    ],
    [
      "missing top-level sections",
      "admin: { port: 9901 }\n",
      ["listeners: is required", "clusters: is required", "routes: is required"],
    ],
    [
      "an unknown top-level key",
      `listeners: [{ port: 8080 }]\nlistener: []\n${GOOD_CLUSTERS}`,
      ["listener: unknown key (did you mean listeners?)"],
    ],
    [
      "a bad duration",
      `listeners: [{ port: 8080 }]\ndrainTimeout: 10 seconds\n${GOOD_CLUSTERS}`,
      [expect.stringMatching(/^drainTimeout: "10 seconds" is not a duration/)],
    ],
  ])("reports %s", async (_name, yaml, expected) => {
    expect(await problemsFor(yaml)).toEqual(expected);
  });

  it("reports a zero route timeout", async () => {
    const yaml = `listeners: [{ port: 8080 }]\nclusters:\n  echo: { protocol: grpc, endpoints: ["a:1"] }\nroutes:\n  - { match: { prefix: / }, cluster: echo, timeout: 0s }\n`;
    expect(await problemsFor(yaml)).toEqual(['routes[0].timeout: "0s" must be greater than 0']);
  });

  it("collects every problem in one pass", async () => {
    const problems = await problemsFor(`
listeners:
  - { port: 8080, tls: { cert: x.pem, key: certs/gw-key.pem } }
  - { port: 8080 }
clusters:
  echo:
    protocol: http
    endpoints: ["127.0.0.1", "b:70000"]
    timeout: soon
routes:
  - { match: { method: nope }, cluster: nope }
`);
    expect(problems).toEqual([
      'clusters.echo.protocol: "http" must be one of grpc, connect, grpc-web',
      'clusters.echo.timeout: "soon" is not a duration (expected e.g. "250ms", "5s", "1m", "1.5s", or a number of milliseconds)',
      'clusters.echo.endpoints[0]: "127.0.0.1" is not host:port (expected e.g. "127.0.0.1:50051")',
      'routes[0].match.method: "nope" is not /pkg.Service/Method (expected e.g. "/acme.echo.v1.EchoService/Echo")',
      "listeners[1].port: 8080 is already used by listeners[0]",
      'clusters.echo.endpoints[1]: "b:70000" has port 70000, which is not between 1 and 65535',
      'routes[0].cluster: "nope" is not a defined cluster (defined: echo)',
      expect.stringMatching(/^listeners\[0\]\.tls\.cert: cannot read file "x\.pem": ENOENT/),
    ]);
  });

  it("loads resilience settings, with false switching sections off", async () => {
    const path = await writeConfig(`
listeners: [{ port: 8080 }]
clusters:
  echo:
    protocol: grpc
    endpoints: ["a:1"]
    balancer: p2c_ewma
    slowStart: 0
    circuitBreaker: false
    retryPolicy: { maxAttempts: 5, retryableStatusCodes: [unavailable, RESOURCE_EXHAUSTED] }
    hedgingPolicy: { hedgingDelay: 50ms }
    healthCheck: { interval: 500ms, service: acme.echo.v1.EchoService }
    outlierDetection: { baseEjectionTime: 30s }
    idempotentMethods: [/acme.echo.v1.EchoService/Sum]
routes: [{ match: { prefix: / }, cluster: echo }]
`);
    const r = (await loadConfigFile(path)).clusters.get("echo")!.resilience;
    expect(r.balancer).toBe("p2c_ewma");
    expect(r.slowStartMs).toBe(0);
    expect(r.circuitBreaker).toEqual({ ...defaultResilience().circuitBreaker, enabled: false });
    expect(r.retryPolicy).toMatchObject({ enabled: true, maxAttempts: 5, retryableStatusCodes: [14, 8] });
    expect(r.hedgingPolicy).toEqual({ ...defaultHedgingPolicy(), hedgingDelayMs: 50 });
    expect(r.healthCheck).toMatchObject({
      enabled: true,
      intervalMs: 500,
      timeoutMs: 1000,
      service: "acme.echo.v1.EchoService",
    });
    expect(r.outlierDetection).toMatchObject({ baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000 });
    expect(r.idempotentMethods).toEqual(["/acme.echo.v1.EchoService/Sum"]);
  });

  it("reports every resilience mistake by path", async () => {
    const problems = await problemsFor(`
listeners: [{ port: 8080 }]
clusters:
  echo:
    protocol: grpc
    endpoints: ["a:1"]
    balancer: p2c
    slowStart: soon
    circuitBreaker: { errorThresholdPercentage: 0, rollingWindow: 0s, maxInflight: 10 }
    retryPolicy: { maxAttempts: 11, initialBackoff: 2s, maxBackoff: 1s, retryableStatusCodes: [UNAVAILBLE, OK] }
    hedgingPolicy: { hedgingDelay: sometimes, percentile: 100 }
    retryBudget: { percent: 150 }
    healthCheck: yes
    outlierDetection: { maxEjectionPercent: -1 }
    idempotentMethods: [acme.echo.v1.EchoService.Sum]
    retries: 3
routes: [{ match: { prefix: / }, cluster: echo }]
`);
    expect(problems).toEqual([
      expect.stringMatching(
        /^clusters\.echo\.retries: unknown key \(allowed: protocol, http, codec, .*, idempotentMethods\)$/,
      ),
      'clusters.echo.balancer: "p2c" must be one of weighted_round_robin, p2c_ewma, random, ring_hash, maglev',
      'clusters.echo.slowStart: "soon" is not a duration (expected e.g. "250ms", "5s", "1m", "1.5s", or a number of milliseconds)',
      "clusters.echo.circuitBreaker.maxInflight: unknown key (did you mean maxInFlight?)",
      "clusters.echo.circuitBreaker.errorThresholdPercentage: 0 must be between 1 and 100",
      "clusters.echo.retryPolicy.maxAttempts: 11 must be a whole number of attempts from 1 to 10 (including the first attempt)",
      'clusters.echo.hedgingPolicy.hedgingDelay: "sometimes" must be auto or a duration (e.g. "50ms")',
      "clusters.echo.hedgingPolicy.percentile: 100 must be between 1 and 99.9",
      "clusters.echo.retryBudget.percent: 150 must be between 0 and 100",
      'clusters.echo.healthCheck: "yes" must be a mapping of health check settings, or false to turn health checks off',
      "clusters.echo.outlierDetection.maxEjectionPercent: -1 must be between 0 and 100",
      'clusters.echo.idempotentMethods[0]: "acme.echo.v1.EchoService.Sum" is not /pkg.Service/Method (expected e.g. "/acme.echo.v1.EchoService/Echo")',
      'clusters.echo.circuitBreaker.rollingWindow: "0s" must be greater than 0',
      'clusters.echo.retryPolicy.retryableStatusCodes[0]: "UNAVAILBLE" is not a gRPC status code (did you mean UNAVAILABLE?)',
      'clusters.echo.retryPolicy.retryableStatusCodes[1]: "OK" is success, not a failure to act on',
      'clusters.echo.retryPolicy.maxBackoff: "1s" is shorter than initialBackoff ("2s")',
    ]);
  });
});
