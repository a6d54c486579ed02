// Deadlines that hold whatever the upstream does: a connection that never
// finishes its handshake, a session nghttp2 gave up on, an upstream that
// never says a word. Raw TCP upstreams (test/helpers/wedged-upstream.ts),
// since Node's http2 server will not misbehave like this.
import { demoDescriptors } from "../../gateway/demo.js";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService, EchoRequestSchema, EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { startScriptedUpstream } from "../helpers/scripted-upstream.js";
import { startWedgedUpstream, type Wedge } from "../helpers/wedged-upstream.js";
import { callError } from "../helpers/clients.js";
import { type RawResponse, envelope, h1Request, h2Request } from "../helpers/raw.js";

const echoReply = Buffer.from(
  toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: "ok", replica: "good" })),
);
/** Generous: this bounds correctness (the call ends at its deadline), it is no speed benchmark. */
const MARGIN_MS = 1500;
const DEADLINE_MS = 3000;
const ECHO = "/acme.echo.v1.EchoService/Echo";
const COUNT = "/acme.echo.v1.EchoService/Count";

describe("a wedged upstream does not outlive the deadline", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(wedge: Wedge, opts: { good?: boolean; cluster?: Record<string, unknown> } = {}) {
    const bad = await startWedgedUpstream(wedge);
    cleanup.push(bad.close);
    // The wedged endpoint's weight makes it the first pick.
    const endpoints: Array<{ address: string; weight: number }> = [{ address: bad.address, weight: 100 }];
    if (opts.good) {
      const good = await startScriptedUpstream(() => ({ status: 0, reply: echoReply }));
      cleanup.push(good.close);
      endpoints.push({ address: good.address, weight: 1 });
    }
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: { c: { protocol: "grpc", endpoints, healthCheck: false, slowStart: 0, ...opts.cluster } },
        routes: [{ match: { prefix: "/" }, cluster: "c" }],
      },
      process.cwd(),
    );
    const gw: Gateway = await startGateway(config, { descriptors: demoDescriptors });
    cleanup.push(() => gw.close());
    const url = `http://127.0.0.1:${gw.ports[0]}`;
    const badEndpoint = () => gw.clusters.endpointSet("c")!.list.find((e) => e.address === bad.address)!;
    return { bad, url, badEndpoint, grpc: createClient(EchoService, createGrpcTransport({ baseUrl: url })) };
  }

  /** Runs `call`, returning how long it took and the error it failed with (undefined on success). */
  async function timed(call: () => Promise<unknown>) {
    const t0 = performance.now();
    const err = await callError(call).catch(() => undefined);
    return { ms: performance.now() - t0, err };
  }

  /** A raw call's time and status: gRPC's from headers or trailers, Connect's from its error JSON. */
  async function rawTimed(call: () => Promise<RawResponse>) {
    const t0 = performance.now();
    const res = await call();
    const ms = performance.now() - t0;
    const grpc = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
    const status =
      grpc !== undefined
        ? Number(grpc) === Code.DeadlineExceeded
          ? "deadline_exceeded"
          : Number(grpc) === Code.Unavailable
            ? "unavailable"
            : `grpc ${grpc}`
        : JSON.parse(res.body.toString()).code;
    return { ms, status };
  }

  it.each(["bad-settings", "bad-hpack", "silent"] as Wedge[])(
    "with only a %s endpoint, unary and streaming calls end with DEADLINE_EXCEEDED at their deadline, and the endpoint is charged",
    async (wedge) => {
      const { url, badEndpoint } = await setup(wedge);
      // Raw requests: a client library's own timer could beat the
      // gateway's and cancel first, and then nothing would be the
      // endpoint's fault. Here only the gateway keeps the time.
      const grpcHeaders = { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "3S" };
      const request = envelope(
        0,
        Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "x" }))),
      );
      const results = await Promise.all([
        rawTimed(() => h2Request(url, { ":path": ECHO, ...grpcHeaders }, request)),
        rawTimed(() => h2Request(url, { ":path": COUNT, ...grpcHeaders }, envelope(0, Buffer.from([0x08, 0x02])))),
        rawTimed(() =>
          h1Request(
            url + ECHO,
            "POST",
            { "content-type": "application/json", "connect-timeout-ms": "3000" },
            '{"message":"x"}',
          ),
        ),
      ]);
      for (const r of results) {
        // Node 24's nghttp2 notices a bad header block and fails the session
        // (UNAVAILABLE, early); Node 20's leaves it wedged, and the deadline
        // ends the call. Either way no call outlives its deadline.
        if (wedge === "bad-hpack") expect(["deadline_exceeded", "unavailable"]).toContain(r.status);
        else expect(r.status).toBe("deadline_exceeded");
        expect(r.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      }
      // Timeouts against a silent endpoint are its failures, not harmless cancels.
      const ep = badEndpoint();
      // One per call; more where an early UNAVAILABLE was retried (Node 24, bad-hpack).
      if (wedge === "bad-hpack") expect(ep.outlier.failures).toBeGreaterThanOrEqual(3);
      else expect(ep.outlier.failures).toBe(3);
      expect(ep.inflight).toBe(0);
    },
    20_000,
  );

  it("a call goes on to a good endpoint once the handshake times out (connectTimeout), within its deadline", async () => {
    const { bad, grpc, badEndpoint } = await setup("bad-settings", {
      good: true,
      cluster: { connectTimeout: "300ms" },
    });
    const t0 = performance.now();
    const res = await grpc.echo({ message: "x" }, { timeoutMs: DEADLINE_MS });
    expect(res.replica).toBe("good");
    expect(performance.now() - t0).toBeLessThan(DEADLINE_MS);
    expect(bad.connections()).toBeGreaterThanOrEqual(1);
    expect(badEndpoint().outlier.failures).toBeGreaterThanOrEqual(1);
  });

  it("with the default connectTimeout (5s) past a 3s deadline, a call either succeeds elsewhere or ends at its deadline", async () => {
    const { grpc } = await setup("bad-settings", { good: true });
    const r = await timed(() => grpc.echo({ message: "x" }, { timeoutMs: DEADLINE_MS }));
    if (r.err) expect(r.err.code).toBe(Code.DeadlineExceeded);
    expect(r.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
  });

  it("with no deadline, a handshake that never ends fails as UNAVAILABLE after connectTimeout", async () => {
    const { grpc } = await setup("bad-settings", { cluster: { connectTimeout: "300ms" } });
    const r = await timed(() => grpc.echo({ message: "x" }));
    expect(r.err?.code).toBe(Code.Unavailable);
    expect(r.err?.rawMessage).toContain("connectTimeout");
    // Never left, so retried transparently: three tries of 300 ms, not a hang.
    expect(r.ms).toBeLessThan(3 * 300 + MARGIN_MS);
  });

  it("over HTTP/1.1, a TLS handshake that never ends fails as UNAVAILABLE after connectTimeout", async () => {
    const { grpc } = await setup("silent", {
      cluster: { protocol: "connect", http: "1.1", tls: { insecureSkipVerify: true }, connectTimeout: "300ms" },
    });
    const r = await timed(() => grpc.echo({ message: "x" }));
    expect(r.err?.code).toBe(Code.Unavailable);
    expect(r.err?.rawMessage).toContain("connectTimeout");
    expect(r.ms).toBeLessThan(3 * 300 + MARGIN_MS);
  });

  it("a session stuck after a bad header block is torn down, so the next call gets a fresh connection", async () => {
    const { bad, grpc } = await setup("bad-hpack", { cluster: { connectTimeout: "300ms" } });
    // Node 20 leaves the session wedged (the deadline ends the call); Node
    // 24's nghttp2 fails it at once (UNAVAILABLE). Either way the next call
    // must not wait on the same session.
    const failed = [Code.DeadlineExceeded, Code.Unavailable];
    expect(failed).toContain((await timed(() => grpc.echo({ message: "x" }, { timeoutMs: 500 }))).err?.code);
    const first = bad.connections();
    expect(first).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(failed).toContain((await timed(() => grpc.echo({ message: "y" }, { timeoutMs: 500 }))).err?.code);
    expect(bad.connections()).toBeGreaterThan(first);
  });
});
