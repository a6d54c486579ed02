import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { IncomingHttpHeaders } from "node:http";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "../call/status.js";
import { encodeEnvelope, readEnvelopes } from "../call/envelope.js";
import type { HealthCheckConfig } from "../config/types.js";
import { HealthChecker } from "./health-check.js";
import {
  UpstreamError,
  type HttpTransport,
  type UpstreamHttpRequest,
  type UpstreamHttpResponse,
  type WholeHttpResponse,
} from "../transport/contract.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health_pb.js";

// A scripted gRPC upstream: each request gets the answer `next` describes.
type Answer = Serving | { code: Code } | { throw: Error } | "hang";

class FakeTransport implements HttpTransport {
  answer: Answer = Serving.SERVING;
  requests: Array<{ path: string; headers: UpstreamHttpRequest["headers"]; service: string }> = [];

  async request(req: UpstreamHttpRequest): Promise<UpstreamHttpResponse> {
    let service = "";
    for await (const env of readEnvelopes(req.body as AsyncIterable<Uint8Array>, 1024)) {
      service = fromBinary(HealthCheckRequestSchema, env.data).service;
    }
    this.requests.push({ path: req.path, headers: req.headers, service });
    const a = this.answer;
    if (a === "hang") {
      await new Promise<void>((_, reject) =>
        req.cancel.on(() => reject(new UpstreamError(Code.CANCELLED, "reset", false))),
      );
    }
    if (typeof a === "object" && "throw" in a) throw a.throw;
    if (typeof a === "object" && "code" in a) {
      return response(
        { "content-type": "application/grpc+proto", "grpc-status": String(a.code), "grpc-message": "nope" },
        [],
        {},
      );
    }
    const msg = toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: a as Serving }));
    return response({ "content-type": "application/grpc+proto" }, [encodeEnvelope(0, msg)], { "grpc-status": "0" });
  }

  async exchange(req: UpstreamHttpRequest & { body: Uint8Array }): Promise<WholeHttpResponse> {
    const res = await this.request(req);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c);
    return { status: res.status, headers: res.headers, chunks, trailers: res.trailers() };
  }

  async close(): Promise<void> {}
}

function response(headers: IncomingHttpHeaders, chunks: Buffer[], trailers: IncomingHttpHeaders): UpstreamHttpResponse {
  return {
    status: 200,
    headers,
    body: (async function* () {
      yield* chunks;
    })(),
    trailers: () => trailers,
  };
}

function config(over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    enabled: true,
    intervalMs: 10,
    timeoutMs: 200,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    service: "",
    ...over,
  };
}

const checkers: HealthChecker[] = [];
function setup(over: Partial<HealthCheckConfig> = {}) {
  const transport = new FakeTransport();
  const changes: Array<[boolean, string]> = [];
  const checker = new HealthChecker(
    { transport, protocol: "grpc", label: 'cluster "c" endpoint e:1' },
    config(over),
    (h, r) => changes.push([h, r]),
  );
  checkers.push(checker);
  return { transport, changes, checker };
}
afterEach(() => {
  for (const c of checkers.splice(0)) c.stop();
});

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(5);
  }
}

describe("HealthChecker", () => {
  it("starts healthy and sends Health/Check with the configured service", async () => {
    const { transport, checker, changes } = setup({ service: "acme.echo.v1.EchoService", timeoutMs: 1500 });
    expect(checker.healthy).toBe(true);
    checker.start();
    await until(() => transport.requests.length >= 3);
    const first = transport.requests[0];
    expect(first.path).toBe("/grpc.health.v1.Health/Check");
    expect(first.service).toBe("acme.echo.v1.EchoService");
    // The check's deadline, less the gateway's early shave (call/deadline.ts).
    expect(first.headers["grpc-timeout"]).toMatch(/^1[45]\d\dm$/);
    expect(checker.healthy).toBe(true);
    expect(changes).toEqual([]);
  });

  it("checks once at start, before the first interval", async () => {
    const { transport, checker } = setup({ intervalMs: 60_000 });
    checker.start();
    await until(() => transport.requests.length === 1);
    await sleep(30);
    expect(transport.requests).toHaveLength(1);
  });

  it("goes unhealthy after unhealthyThreshold failures and back after healthyThreshold successes", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 3, healthyThreshold: 2 });
    transport.answer = Serving.NOT_SERVING;
    checker.start();
    await until(() => !checker.healthy);
    expect(transport.requests.length).toBe(3);
    expect(changes).toEqual([[false, "health check failed 3 times in a row: NOT_SERVING"]]);

    const before = transport.requests.length;
    transport.answer = Serving.SERVING;
    await until(() => checker.healthy);
    expect(transport.requests.length - before).toBe(2);
    expect(changes[1]).toEqual([true, "health check passed 2 times in a row"]);
  });

  it("a success between failures resets the count", async () => {
    const { transport, checker } = setup({ unhealthyThreshold: 2, intervalMs: 5 });
    let n = 0;
    const orig = transport.request.bind(transport);
    transport.request = (req) => {
      transport.answer = n++ % 2 === 0 ? Serving.NOT_SERVING : Serving.SERVING;
      return orig(req);
    };
    checker.start();
    await until(() => n >= 8);
    expect(checker.healthy).toBe(true);
  });

  it("reports transport errors with their code and message", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 1 });
    transport.answer = {
      throw: new UpstreamError(Code.UNAVAILABLE, 'cluster "c" endpoint e:1 unreachable: connect ECONNREFUSED', true),
    };
    checker.start();
    await until(() => !checker.healthy);
    expect(changes[0]).toEqual([
      false,
      'health check failed 1 time in a row: UNAVAILABLE: cluster "c" endpoint e:1 unreachable: connect ECONNREFUSED',
    ]);
  });

  it("fails a check that takes longer than timeoutMs", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 1, timeoutMs: 30 });
    transport.answer = "hang";
    checker.start();
    await until(() => !checker.healthy);
    expect(changes[0][1]).toBe("health check failed 1 time in a row: DEADLINE_EXCEEDED: no answer within 30 ms");
  });

  it("counts non-OK statuses as failures", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 1 });
    transport.answer = { code: Code.NOT_FOUND };
    checker.start();
    await until(() => !checker.healthy);
    expect(changes[0][1]).toMatch(/: NOT_FOUND: nope$/);
  });

  it("treats UNIMPLEMENTED (no health service upstream) as healthy", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 1 });
    transport.answer = { code: Code.UNIMPLEMENTED };
    checker.start();
    await until(() => transport.requests.length >= 3);
    expect(checker.healthy).toBe(true);
    expect(changes).toEqual([]);
  });

  it("stops checking after stop() and ignores a check in flight", async () => {
    const { transport, checker, changes } = setup({ unhealthyThreshold: 1, timeoutMs: 1000 });
    transport.answer = "hang";
    checker.start();
    await until(() => transport.requests.length === 1);
    checker.stop();
    await sleep(50);
    expect(transport.requests).toHaveLength(1);
    expect(changes).toEqual([]);
    expect(checker.healthy).toBe(true);
  });
});
