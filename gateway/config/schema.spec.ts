import { describe, expect, it } from "vitest";
import { formatProblem } from "./problems.js";
import { problemsAfter, validConfig } from "../../test/helpers/config-fixture.js";
import { createSchemaCheck } from "./schema.js";

const check = createSchemaCheck();

const valid = validConfig;
const problems = (mutate: (c: Record<string, any>) => void) => problemsAfter(check, mutate);

describe("gateway schema", () => {
  it("accepts a minimal config", () => {
    expect(check(valid())).toEqual([]);
  });

  it("accepts every documented key", () => {
    const c = valid();
    c.listeners = [
      { port: 8443, host: "::", tls: { cert: "c.pem", key: "k.pem", clientCa: "ca.pem", requireClientCert: true } },
    ];
    c.admin = { port: 9901, host: "127.0.0.1" };
    c.metrics = { enabled: true };
    c.logging = { level: "debug", access: true };
    c.tracing = { otlp: { endpoint: "http://127.0.0.1:4318/v1/traces" }, sampleRatio: 0.5, serviceName: "edge" };
    c.limits = { maxMessageBytes: 1024 };
    c.drainTimeout = "1.5s";
    c.descriptorSets = ["image.binpb"];
    c.cors = { allowedOrigins: ["https://app.example.com:8443", "*"], allowCredentials: false };
    c.clusters.echo = {
      protocol: "connect",
      http: "1.1",
      codec: "same",
      compression: "gzip",
      tls: { ca: "ca.pem", cert: "c.pem", key: "k.pem", serverName: "echo", insecureSkipVerify: false },
      timeout: 250,
      connectTimeout: "2s",
      endpoints: [{ address: "[::1]:50051", weight: 1000 }, "echo:50052"],
      balancer: "p2c_ewma",
      slowStart: "10s",
      circuitBreaker: {
        errorThresholdPercentage: 50,
        volumeThreshold: 20,
        rollingWindow: "10s",
        resetTimeout: "5s",
        maxInFlight: 1000,
      },
      retryPolicy: {
        maxAttempts: 10,
        initialBackoff: "25ms",
        maxBackoff: "1s",
        backoffMultiplier: 1.5,
        retryableStatusCodes: ["UNAVAILABLE", "resource_exhausted"],
        maxReplayBytes: 0,
      },
      hedgingPolicy: { maxAttempts: 3, hedgingDelay: "auto", nonFatalStatusCodes: [], percentile: 99.9, minDelay: 0 },
      retryBudget: { percent: 0, minRetriesPerSecond: 0.5 },
      healthCheck: { interval: "2s", timeout: "1s", unhealthyThreshold: 2, healthyThreshold: 2, service: "" },
      outlierDetection: {
        consecutiveFailures: 5,
        baseEjectionTime: "10s",
        maxEjectionTime: "300s",
        maxEjectionPercent: 100,
        interval: "10s",
        successRateMinimumHosts: 3,
        successRateRequestVolume: 20,
        successRateStdevFactor: 1.9,
      },
      idempotentMethods: ["/a.B/C"],
    };
    c.routes = [
      { match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" },
      { match: { method: "/acme.echo.v1.EchoService/Echo" }, cluster: "echo", timeout: "2s" },
    ];
    expect(check(c)).toEqual([]);
  });

  it("accepts true and false for the sections that can be switched", () => {
    for (const key of ["circuitBreaker", "retryPolicy", "hedgingPolicy", "healthCheck", "outlierDetection"]) {
      expect(problems((c) => (c.clusters.echo[key] = false))).toEqual([]);
      expect(problems((c) => (c.clusters.echo[key] = true))).toEqual([]);
    }
    expect(problems((c) => (c.clusters.echo.retryBudget = false))).toEqual([
      "clusters.echo.retryBudget: false must be a mapping",
    ]);
  });

  it("explains resilience value mistakes", () => {
    expect(
      problems((c) => {
        c.clusters.echo.retryPolicy = { maxAttempts: 0, backoffMultiplier: 0, retryableStatusCodes: [] };
        c.clusters.echo.hedgingPolicy = { hedgingDelay: -5, nonFatalStatusCodes: [14] };
        c.clusters.echo.outlierDetection = { successRateStdevFactor: 0 };
      }),
    ).toEqual([
      "clusters.echo.retryPolicy.maxAttempts: 0 must be a whole number of attempts from 1 to 10 (including the first attempt)",
      "clusters.echo.retryPolicy.backoffMultiplier: 0 must be greater than 0",
      "clusters.echo.retryPolicy.retryableStatusCodes: [] must be a non-empty list of status code names, e.g. [UNAVAILABLE] (use retryPolicy: false to turn retries off)",
      'clusters.echo.hedgingPolicy.hedgingDelay: -5 must be auto or a duration (e.g. "50ms")',
      "clusters.echo.hedgingPolicy.nonFatalStatusCodes[0]: 14 must be a string",
      "clusters.echo.outlierDetection.successRateStdevFactor: 0 must be greater than 0",
    ]);
  });

  it("accepts descriptors: reflection and explains other values", () => {
    expect(
      problems((c) => Object.assign(c.clusters.echo, { descriptors: "reflection", descriptorRefresh: "30s" })),
    ).toEqual([]);
    expect(problems((c) => (c.clusters.echo.descriptors = "files"))).toEqual([
      `clusters.echo.descriptors: "files" must be reflection (learn the API from the endpoints' server reflection); leave it out to rely on descriptorSets`,
    ]);
  });

  it("names the path and value for enum errors", () => {
    expect(problems((c) => (c.clusters.echo.protocol = "http"))).toEqual([
      'clusters.echo.protocol: "http" must be one of grpc, connect, grpc-web',
    ]);
  });

  it("explains observability mistakes", () => {
    expect(problems((c) => (c.logging = { level: "verbose" }))).toEqual([
      'logging.level: "verbose" must be one of trace, debug, info, warn, error, fatal, silent',
    ]);
    expect(problems((c) => (c.tracing = { otlp: { endpoint: "127.0.0.1:4318" } }))).toEqual([
      'tracing.otlp.endpoint: "127.0.0.1:4318" is not an http(s) URL (expected e.g. "http://127.0.0.1:4318")',
    ]);
    expect(problems((c) => (c.tracing = { otlp: { endpoint: "http://c:4318" }, sampleRatio: 2 }))).toEqual([
      "tracing.sampleRatio: 2 must be between 0 and 1",
    ]);
    expect(problems((c) => (c.metrics = { enabled: "yes" }))).toEqual(['metrics.enabled: "yes" must be true or false']);
  });

  it("explains host:port mistakes in both endpoint forms", () => {
    expect(problems((c) => (c.clusters.echo.endpoints = ["127.0.0.1", { address: "127.0.0.1" }]))).toEqual([
      'clusters.echo.endpoints[0]: "127.0.0.1" is not host:port (expected e.g. "127.0.0.1:50051")',
      'clusters.echo.endpoints[1].address: "127.0.0.1" is not host:port (expected e.g. "127.0.0.1:50051")',
    ]);
  });

  it("reports unknown keys with a suggestion or the allowed list", () => {
    expect(problems((c) => (c.clusters.echo.protocl = "grpc"))).toContain(
      "clusters.echo.protocl: unknown key (did you mean protocol?)",
    );
    expect(problems((c) => (c.listeners[0].zzz = 1))).toEqual([
      "listeners[0].zzz: unknown key (allowed: port, host, reusePort, tls, limits)",
    ]);
  });

  it("reports missing required keys, with the choices when there are some", () => {
    expect(problems((c) => delete c.clusters.echo.protocol)).toEqual([
      "clusters.echo.protocol: is required (one of grpc, connect, grpc-web)",
    ]);
    expect(problems((c) => delete c.routes)).toEqual(["routes: is required"]);
  });

  it("reports type errors in YAML terms", () => {
    expect(problems((c) => (c.listeners[0].port = "8080"))).toEqual(['listeners[0].port: "8080" must be an integer']);
    expect(problems((c) => (c.clusters.echo.endpoints[0] = 5))).toEqual([
      'clusters.echo.endpoints[0]: 5 must be "host:port" or a mapping with address and weight',
    ]);
    expect(problems((c) => (c.clusters = []))).toEqual(["clusters: [] must be a mapping with at least one cluster"]);
  });

  it("reports ranges", () => {
    expect(problems((c) => (c.listeners[0].port = 70000))).toEqual([
      "listeners[0].port: 70000 must be between 0 and 65535",
    ]);
    expect(problems((c) => (c.clusters.echo.endpoints[0] = { address: "a:1", weight: 0 }))).toEqual([
      "clusters.echo.endpoints[0].weight: 0 must be between 1 and 1000",
    ]);
  });

  it("requires at least one listener, cluster and route", () => {
    expect(
      problems((c) => {
        c.listeners = [];
        c.clusters = {};
        c.routes = [];
      }),
    ).toEqual([
      "listeners: [] must be a list with at least one listener",
      "clusters: {} must be a mapping with at least one cluster",
      "routes: [] must be a list with at least one route",
    ]);
  });

  it("requires exactly one route match kind", () => {
    expect(problems((c) => (c.routes[0].match = { service: "a.B", prefix: "/" }))).toEqual([
      'routes[0].match: {"service":"a.B","prefix":"/"} must have exactly one of service, method, prefix',
    ]);
    expect(problems((c) => (c.routes[0].match = {}))).toEqual([
      "routes[0].match: {} must have exactly one of service, method, prefix",
    ]);
  });

  it("checks method, service and prefix shapes", () => {
    expect(problems((c) => (c.routes[0].match = { method: "acme.Echo/Echo" }))).toEqual([
      'routes[0].match.method: "acme.Echo/Echo" is not /pkg.Service/Method (expected e.g. "/acme.echo.v1.EchoService/Echo")',
    ]);
    expect(problems((c) => (c.routes[0].match = { service: "/acme.Echo" }))[0]).toContain(
      "is not a fully-qualified service name",
    );
    expect(problems((c) => (c.routes[0].match = { prefix: "acme" }))).toEqual([
      'routes[0].match.prefix: "acme" must start with "/"',
    ]);
  });

  it("checks duration shapes", () => {
    expect(problems((c) => (c.drainTimeout = "10 seconds"))).toEqual([
      'drainTimeout: "10 seconds" is not a duration (expected e.g. "250ms", "5s", "1m", "1.5s", or a number of milliseconds)',
    ]);
    expect(problems((c) => (c.drainTimeout = true))[0]).toBe(
      'drainTimeout: true is not a duration (expected e.g. "250ms", "5s", "1m", "1.5s", or a number of milliseconds)',
    );
  });

  it("takes workers as a count or auto, and reusePort on a listener", () => {
    expect(problems((c) => (c.workers = 4))).toEqual([]);
    expect(problems((c) => (c.workers = "auto"))).toEqual([]);
    expect(problems((c) => (c.listeners[0].reusePort = true))).toEqual([]);
    const why = "must be auto or a whole number of worker processes from 1 to 1024";
    expect(problems((c) => (c.workers = 0))).toEqual([`workers: 0 ${why}`]);
    expect(problems((c) => (c.workers = 1.5))).toEqual([`workers: 1.5 ${why}`]);
    expect(problems((c) => (c.workers = "all"))).toEqual([`workers: "all" ${why}`]);
    expect(problems((c) => (c.listeners[0].reusePort = "yes"))).toEqual([
      'listeners[0].reusePort: "yes" must be true or false',
    ]);
  });

  it("accepts unquoted http versions, which YAML reads as numbers", () => {
    expect(problems((c) => (c.clusters.echo.http = 2))).toEqual([]);
    expect(problems((c) => (c.clusters.echo.http = "3"))).toEqual(['clusters.echo.http: "3" must be "2" or "1.1"']);
  });

  it("knows identity and gzip for upstream compression", () => {
    expect(problems((c) => (c.clusters.echo.compression = "identity"))).toEqual([]);
    expect(problems((c) => (c.clusters.echo.compression = "br"))).toEqual([
      'clusters.echo.compression: "br" must be identity or gzip',
    ]);
  });

  it("requires upstream cert and key together", () => {
    expect(problems((c) => (c.clusters.echo.tls = { cert: "c.pem" }))).toEqual([
      "clusters.echo.tls.key: is required when cert is set",
    ]);
  });

  it("validates cluster names and origins", () => {
    expect(problems((c) => (c.clusters["bad name"] = c.clusters.echo))).toEqual([
      'clusters["bad name"]: "bad name" is not a valid cluster name (use letters, digits, "_", "." and "-")',
    ]);
    expect(problems((c) => (c.cors = { allowedOrigins: ["https://app.example.com/"] }))[0]).toContain(
      "is not an origin",
    );
    expect(problems((c) => (c.cors = { allowCredentials: "yes" }))).toEqual([
      'cors.allowCredentials: "yes" must be true or false',
    ]);
  });

  it("rejects a document that is not a mapping", () => {
    expect(check("hello").map(formatProblem)).toEqual([
      '"hello" must be a mapping with listeners, clusters and routes',
    ]);
  });

  it("collects every problem, not just the first", () => {
    const found = problems((c) => {
      c.listeners[0].port = -1;
      c.clusters.echo.protocol = "http";
      c.routes[0].cluster = 7;
    });
    expect(found).toHaveLength(3);
  });
});
