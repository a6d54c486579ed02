import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope, frames, h1Request, h2Request } from "../helpers/raw.js";

// Issue 14, "Connection-level protection with safe defaults": the limits a
// call meets once it is in (stream idle timeout, decompression bombs, JSON
// depth), the overload guard, and limits changed by a reload.

const ECHO = "/acme.echo.v1.EchoService/Echo";
const CHAT = "/acme.echo.v1.EchoService/Chat";
const COUNT = "/acme.echo.v1.EchoService/Count";
const grpc = { "content-type": "application/grpc", te: "trailers" };
const hi = envelope(0, Buffer.from([0x0a, 0x02, 0x68, 0x69]));
const WAIT_MS = 10_000;

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const grpcStatus = (r: { headers: Record<string, unknown>; trailers: Record<string, unknown> }) =>
  String(r.trailers["grpc-status"] ?? r.headers["grpc-status"]);

describe("limits.streamIdleTimeout", () => {
  it("is off by default: a stream quiet for a while is not cut", async () => {
    f = await startFixture();
    expect(f.gateway.current().config.limits.streamIdleTimeoutMs).toBe(0);
    // Count 2 messages 1.5 s apart: a quiet spell no default may cut.
    const res = await h2Request(
      f.url,
      { ":path": COUNT, ...grpc },
      envelope(0, Buffer.from([0x08, 0x02, 0x10, 0xdc, 0x0b])),
    );
    expect(grpcStatus(res)).toBe("0");
    expect(frames(res.body)).toHaveLength(2);
  });

  it("when set, a call whose stream carries nothing either way for that long ends with DEADLINE_EXCEEDED; a busy one does not", async () => {
    f = await startFixture({ limits: { streamIdleTimeoutMs: 300 } });
    const session = http2.connect(f.url);
    session.on("error", () => {});
    // A bidi stream that sends nothing.
    const req = session.request({ ":method": "POST", ":path": CHAT, ...grpc });
    req.on("data", () => {});
    req.on("error", () => {});
    const status = new Promise<string>((resolve) => {
      req.on("response", (h) => h["grpc-status"] !== undefined && resolve(`${h["grpc-status"]} ${h["grpc-message"]}`));
      req.on("trailers", (t) => resolve(`${t["grpc-status"]} ${t["grpc-message"]}`));
    });
    expect(await within(status)).toMatch(/^4 .*limits\.streamIdleTimeout/);
    // Count: 6 messages 100 ms apart, never 300 ms quiet.
    const busy = await h2Request(
      f.url,
      { ":path": COUNT, ...grpc },
      envelope(0, Buffer.from([0x08, 0x06, 0x10, 0x64])),
    );
    expect(grpcStatus(busy)).toBe("0");
    expect(frames(busy.body)).toHaveLength(6);
    // HTTP/1.1 too: a Connect client stream that stops sending.
    const quiet = await h1Quiet(f.port);
    expect(quiet).toMatch(/deadline_exceeded/);
    session.close();
  });
});

/** A Connect client stream over HTTP/1.1 that sends one message and then nothing: the response body. */
function h1Quiet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.on("error", () => {});
    s.on("close", () => resolve(out));
    s.write(
      `POST /acme.echo.v1.EchoService/Sum HTTP/1.1\r\nhost: x\r\ncontent-type: application/connect+json\r\ntransfer-encoding: chunked\r\n\r\n`,
    );
    const m = envelope(0, Buffer.from('{"value":"1"}'));
    s.write(`${m.length.toString(16)}\r\n`);
    s.write(m);
    s.write("\r\n");
    setTimeout(() => s.destroy(), WAIT_MS);
  });
}

describe("what a request may make the gateway do", () => {
  it("a gzip bomb is refused at the limit without inflating it: RESOURCE_EXHAUSTED", async () => {
    f = await startFixture();
    // 256 MiB of zeros, about 256 KiB gzipped: under the 4 MiB message limit as sent.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    const before = process.memoryUsage().rss;
    const res = await h2Request(f.url, { ":path": ECHO, ...grpc, "grpc-encoding": "gzip" }, envelope(1, bomb));
    const grown = process.memoryUsage().rss - before;
    expect(grpcStatus(res)).toBe("8");
    expect(String(res.trailers["grpc-message"] ?? res.headers["grpc-message"])).toContain("limits.maxMessageBytes");
    // Inflated whole it would have taken 256 MiB; zlib stopped at the limit (4 MiB).
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it("JSON nested deeper than limits.maxJsonDepth is INVALID_ARGUMENT before it is parsed; shallower JSON passes", async () => {
    f = await startFixture({ limits: { maxJsonDepth: 20 } });
    const json = { "content-type": "application/json" };
    const deep = `{"message":"x","nested":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const res = await h1Request(`${f.url}${ECHO}`, "POST", json, deep);
    expect(res.status).toBe(400);
    const err = JSON.parse(res.body.toString());
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("limits.maxJsonDepth");
    const ok = await h1Request(`${f.url}${ECHO}`, "POST", json, '{"message":"shallow"}');
    expect(JSON.parse(ok.body.toString()).message).toBe("shallow");
  });
});

describe("the overload guard", () => {
  it("past a watermark new calls get UNAVAILABLE with retry pushback in each protocol's form; below it they pass again", async () => {
    f = await startFixture();
    const g = f.gateway;
    const config = g.current().config;
    // Any heap at all is past a watermark of 0.001%.
    g.reconfigure({ ...config, overload: { ...config.overload, maxHeapPercent: 0.001 } });
    g.overload.check();
    const r = await h2Request(f.url, { ":path": ECHO, ...grpc }, hi);
    expect(grpcStatus(r)).toBe("14");
    expect(String(r.trailers["grpc-message"] ?? r.headers["grpc-message"])).toMatch(/overloaded.*maxHeapPercent/);
    expect(r.trailers["grpc-retry-pushback-ms"] ?? r.headers["grpc-retry-pushback-ms"]).toBe("1000");
    const c = await h1Request(`${f.url}${ECHO}`, "POST", { "content-type": "application/json" }, "{}");
    expect(c.status).toBe(503);
    expect(c.headers["retry-after"]).toBe("1");
    expect(JSON.parse(c.body.toString()).code).toBe("unavailable");
    expect(f.replicas[0]!.stats.calls.Echo).toBe(0);

    g.reconfigure(config);
    g.overload.check();
    expect(grpcStatus(await h2Request(f.url, { ":path": ECHO, ...grpc }, hi))).toBe("0");
  });

  it("an event loop that lags past maxEventLoopDelay refuses new calls until it recovers", async () => {
    f = await startFixture({ overload: { maxEventLoopDelayMs: 50 } });
    const guard = f.gateway.overload;
    // Stalls of 150 ms, over and over, as a process drowning in work shows.
    const stall = setInterval(() => {
      const until = performance.now() + 150;
      while (performance.now() < until);
    }, 20);
    try {
      await waitFor(() => guard.refusal() !== undefined, "the guard to see the lag");
      const r = await h2Request(f.url, { ":path": ECHO, ...grpc }, hi);
      expect(grpcStatus(r)).toBe("14");
      expect(String(r.trailers["grpc-message"] ?? r.headers["grpc-message"])).toContain("event loop delay");
    } finally {
      clearInterval(stall);
    }
    await waitFor(() => guard.refusal() === undefined, "the guard to see the loop recover");
    expect(grpcStatus(await h2Request(f.url, { ":path": ECHO, ...grpc }, hi))).toBe("0");
  });
});

describe("limits changed by a reload", () => {
  it("apply to the listener that stays, without a restart", async () => {
    f = await startFixture();
    const fields = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-h${i}`, "v"]));
    const json = { "content-type": "application/json", ...fields };
    expect((await h1Request(`${f.url}${ECHO}`, "POST", json, "{}")).status).toBe(200);
    const config = f.gateway.current().config;
    const result = await f.gateway.reload("test", async () => ({
      ...config,
      limits: { ...config.limits, maxHeadersCount: 10 },
    }));
    expect(result).toMatchObject({ status: "reloaded", changed: ["limits"] });
    expect(f.gateway.ports).toEqual([f.port]);
    expect((await h1Request(`${f.url}${ECHO}`, "POST", json, "{}")).status).toBe(431);
  });
});

async function waitFor(test: () => boolean, what: string): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function within<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`nothing within ${WAIT_MS} ms`)), WAIT_MS)),
  ]);
}
