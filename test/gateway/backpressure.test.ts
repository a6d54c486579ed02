import { demoDescriptors } from "../../gateway/demo.js";
import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway } from "../../gateway/server.js";
import { envelope } from "../helpers/raw.js";

const CHUNK = envelope(0, Buffer.alloc(64 * 1024, 7));
const LIMIT = 16 * 1024 * 1024; // far below what 1.5 s of unthrottled loopback would move

/**
 * A streaming call where one side stops reading: the other side must be
 * held back by flow control through the gateway, so nothing buffers without
 * bound. Counted in bytes the far side managed to write.
 */
describe("backpressure through the gateway", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function gatewayTo(upstream: http2.Http2Server) {
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const sessions = new Set<http2.ServerHttp2Session>();
    upstream.on("session", (s) => sessions.add(s));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sessions) s.destroy();
          upstream.close(() => r());
        }),
    );
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        limits: { maxMessageBytes: 1024 * 1024 },
        clusters: {
          c: {
            protocol: "grpc",
            codec: "same",
            healthCheck: false,
            endpoints: [`127.0.0.1:${(upstream.address() as AddressInfo).port}`],
          },
        },
        routes: [{ match: { prefix: "/" }, cluster: "c" }],
      },
      process.cwd(),
    );
    const gw = await startGateway(config, { descriptors: demoDescriptors });
    cleanup.push(() => gw.close());
    const session = http2.connect(`http://127.0.0.1:${gw.ports[0]}`);
    session.on("error", () => {});
    cleanup.push(() => void session.destroy());
    return session;
  }

  /** Writes CHUNKs while the stream accepts them; returns a getter for bytes written. */
  function flood(stream: http2.Http2Stream): () => number {
    let written = 0;
    const pump = () => {
      while (!stream.destroyed && written < 1024 * 1024 * 1024) {
        written += CHUNK.length;
        if (!stream.write(CHUNK)) return void stream.once("drain", pump);
      }
    };
    pump();
    return () => written;
  }

  it("a client that stops reading holds the upstream back", async () => {
    let upstreamWritten = () => 0;
    const upstream = http2.createServer();
    upstream.on("stream", (s) => {
      s.on("error", () => {});
      s.respond({ ":status": 200, "content-type": "application/grpc" });
      upstreamWritten = flood(s);
    });
    const session = await gatewayTo(upstream);
    const req = session.request({
      ":method": "POST",
      ":path": "/x.v1.S/Stream",
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    req.end(envelope(0, Buffer.alloc(0)));
    req.pause(); // the client reads nothing
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = upstreamWritten();
    console.log(`[backpressure] upstream wrote ${(stalled / 1048576).toFixed(1)} MiB while the client read nothing`);
    expect(stalled).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(LIMIT);
    // And it flows again once the client reads.
    let got = 0;
    req.on("data", (c: Buffer) => (got += c.length));
    req.resume();
    await expect.poll(() => got, { timeout: 5000 }).toBeGreaterThan(stalled + 4 * CHUNK.length);
    req.close(http2.constants.NGHTTP2_CANCEL);
  });

  it("an upstream that stops reading holds the client back", async () => {
    const upstream = http2.createServer();
    upstream.on("stream", (s) => {
      s.on("error", () => {});
      s.respond({ ":status": 200, "content-type": "application/grpc" });
      s.pause(); // the upstream reads nothing
    });
    const session = await gatewayTo(upstream);
    const req = session.request(
      { ":method": "POST", ":path": "/x.v1.S/Upload", "content-type": "application/grpc", te: "trailers" },
      { endStream: false },
    );
    req.on("error", () => {});
    const clientWritten = flood(req);
    await new Promise((r) => setTimeout(r, 1500));
    console.log(
      `[backpressure] client wrote ${(clientWritten() / 1048576).toFixed(1)} MiB while the upstream read nothing`,
    );
    expect(clientWritten()).toBeGreaterThan(0);
    expect(clientWritten()).toBeLessThan(LIMIT);
    req.close(http2.constants.NGHTTP2_CANCEL);
  });
});
