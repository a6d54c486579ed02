// Unary calls to gRPC-family upstreams take the unary lane (the request and
// the answer read whole, gateway/proxy/call-handler.ts). These are the
// cases where reading whole could differ from streaming: bad request
// framing, a slow client, an answer too large to hold.
import { demoDescriptors } from "../../gateway/demo.js";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope, frames, h2Request } from "../helpers/raw.js";
import { EchoRequestSchema, EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { defaultResilience } from "../../gateway/config/resilience.js";
import { defaultLimits, defaultOverload } from "../../gateway/config/limits.js";

const ECHO = "/acme.echo.v1.EchoService/Echo";
const GRPC = { ":path": ECHO, "content-type": "application/grpc", te: "trailers" };
const echoBytes = (message: string) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message })));
const statusOf = (res: { headers: Record<string, unknown>; trailers: Record<string, unknown> }) =>
  String(res.trailers["grpc-status"] ?? res.headers["grpc-status"]);

describe("the unary lane", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it("refuses a second request message with UNIMPLEMENTED, as connect-go servers do, and goes on serving", async () => {
    const res = await h2Request(
      f.url,
      GRPC,
      Buffer.concat([envelope(0, echoBytes("one")), envelope(0, echoBytes("two"))]),
    );
    expect(statusOf(res)).toBe("12");
    expect(decodeURIComponent(String(res.trailers["grpc-message"] ?? res.headers["grpc-message"]))).toContain(
      "more than one message",
    );
    const ok = await h2Request(f.url, GRPC, envelope(0, echoBytes("three")));
    expect(statusOf(ok)).toBe("0");
    expect(fromBinary(EchoResponseSchema, frames(ok.body)[0].data).message).toBe("three");
  });

  it("inflates a gzip-compressed request message and answers it", async () => {
    const res = await h2Request(
      f.url,
      { ...GRPC, "grpc-encoding": "gzip" },
      envelope(1, gzipSync(echoBytes("zipped"))),
    );
    expect(statusOf(res)).toBe("0");
    expect(fromBinary(EchoResponseSchema, frames(res.body)[0].data).message).toBe("zipped");
  });

  it("takes a request message split over many DATA frames", async () => {
    const body = envelope(0, echoBytes("y".repeat(100_000)));
    const parts = [];
    for (let i = 0; i < body.length; i += 7000) parts.push(body.subarray(i, i + 7000));
    const res = await h2Request(f.url, GRPC, parts);
    expect(statusOf(res)).toBe("0");
    expect(fromBinary(EchoResponseSchema, frames(res.body)[0].data).message).toHaveLength(100_000);
  });

  it("ends a call whose client never finishes sending at the deadline, with DEADLINE_EXCEEDED", async () => {
    const session = http2.connect(f.url);
    try {
      const req = session.request({ ":method": "POST", ...GRPC, "grpc-timeout": "300m" });
      // Half an envelope, and then nothing.
      req.write(envelope(0, echoBytes("never finished")).subarray(0, 8));
      // The status comes while the request is still open (the client has
      // not finished), so wait for it rather than for the stream's close.
      const res = await new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }>(
        (resolve, reject) => {
          let headers: http2.IncomingHttpHeaders = {};
          req.on("response", (h) => {
            headers = h;
            if (h["grpc-status"] !== undefined) resolve({ headers, trailers: {} });
          });
          req.on("trailers", (trailers) => resolve({ headers, trailers }));
          req.on("error", reject);
          req.resume();
        },
      );
      expect(statusOf(res)).toBe("4");
    } finally {
      session.close();
    }
  });
});

describe("the unary lane with an upstream answering too much", () => {
  let upstream: http2.Http2Server;
  let gateway: Gateway;
  beforeAll(async () => {
    // Answers every call with one 5 MiB message: over the gateway's 4 MiB
    // response limit, so the lane must stop reading rather than hold it.
    upstream = http2.createServer();
    upstream.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(envelope(0, Buffer.alloc(5 * 1024 * 1024, 1)));
      stream.resume();
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const port = (upstream.address() as { port: number }).port;
    gateway = await startGateway(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        limits: { ...defaultLimits(), maxMessageBytes: 1024 },
        overload: defaultOverload(),
        drainTimeoutMs: 1000,
        descriptorSets: [],
        cors: { allowedOrigins: [], allowCredentials: false },
        clusters: new Map([
          [
            "big",
            {
              name: "big",
              protocol: "grpc",
              http: "2",
              codec: "proto",
              compression: "identity",
              connectTimeoutMs: 5000,
              timeoutMs: undefined,
              endpoints: [{ address: `127.0.0.1:${port}`, host: "127.0.0.1", port, weight: 1, priority: 0 }],
              resilience: {
                ...defaultResilience(),
                healthCheck: { ...defaultResilience().healthCheck, enabled: false },
              },
            },
          ],
        ]),
        routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "big" }],
      },
      { descriptors: demoDescriptors },
    );
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise((r) => upstream.close(r));
  });

  it("is RESOURCE_EXHAUSTED naming the limit", async () => {
    const res = await h2Request(`http://127.0.0.1:${gateway.ports[0]}`, GRPC, envelope(0, echoBytes("hi")));
    expect(statusOf(res)).toBe("8");
    expect(decodeURIComponent(String(res.trailers["grpc-message"] ?? res.headers["grpc-message"]))).toMatch(
      /exceeds the limit|over \d+ bytes/,
    );
  });
});
