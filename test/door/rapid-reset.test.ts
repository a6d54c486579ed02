import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope } from "../helpers/raw.js";
import { FLAG, FRAME, RawH2, frame, headerBlock, rpcHeaders, rstStream } from "../helpers/h2-frames.js";

// Issue 14, finding 3: a client sending HEADERS+DATA then RST_STREAM in a
// loop got about 1,100 complete requests per connection through to the
// upstream before Node's own limit closed the connection, and simply
// reconnected (HTTP/2 rapid reset, CVE-2023-44487). The gateway must count
// premature resets per connection and answer GOAWAY ENHANCE_YOUR_CALM, as
// Envoy does after 500, and send no work upstream for a stream reset
// before it was routed.

const ECHO = "/acme.echo.v1.EchoService/Echo";
const CHAT = "/acme.echo.v1.EchoService/Chat";
const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const echoRequest = envelope(0, Buffer.from([0x0a, 0x02, 0x68, 0x69]));

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/**
 * Opens up to `max` streams on one raw connection, each reset by the client
 * right after its request (`withBody`: HEADERS, DATA with END_STREAM, then
 * RST_STREAM CANCEL, all in one write; else HEADERS and RST_STREAM), in
 * batches, until the server sends GOAWAY or closes. How many it sent.
 */
async function rapidReset(
  port: number,
  path: string,
  withBody: boolean,
  max: number,
): Promise<{ c: RawH2; sent: number }> {
  const c = new RawH2(port);
  const block = headerBlock(rpcHeaders(path));
  let sent = 0;
  for (let id = 1; sent < max;) {
    for (let k = 0; k < 20 && sent < max; k++, id += 2, sent++) {
      const frames = withBody
        ? [frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block), frame(FRAME.DATA, FLAG.END_STREAM, id, echoRequest)]
        : [frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block)];
      c.write(...frames, rstStream(id, NGHTTP2_CANCEL));
    }
    // Room for the gateway to answer between batches, as a network would give it.
    await new Promise((r) => setTimeout(r, 2));
    if (c.socket.destroyed || c.goawayCode() !== undefined) break;
  }
  await c.until((fr) => fr.some((x) => x.type === FRAME.GOAWAY), 5_000);
  return { c, sent };
}

/** The last stream the server says it processed (GOAWAY's first field). */
function lastStreamId(c: RawH2): number {
  return c.frames.find((x) => x.type === FRAME.GOAWAY)!.payload.readUInt32BE(0) & 0x7fffffff;
}

describe("HTTP/2 rapid reset", () => {
  for (const [what, path, withBody] of [
    ["HEADERS+DATA+RST_STREAM (unary)", ECHO, true],
    ["HEADERS+RST_STREAM (bidi)", CHAT, false],
  ] as const) {
    it(`${what} in a loop: GOAWAY ENHANCE_YOUR_CALM after 500 premature resets, and what reaches the upstream is bounded by it`, async () => {
      f = await startFixture();
      const { c, sent } = await rapidReset(f.port, path, withBody, 3000);
      // Streams 1, 3, 5, ...: the GOAWAY came at the 500th reset (its last
      // stream id also covers what nghttp2 had read past it in the same
      // buffer), well before nghttp2's own limit (~1000 resets). Node 24 now
      // and then closes such a connection itself, sooner and without a
      // GOAWAY; either way the connection ends long before 1,000 streams.
      const processed = c.goawayCode() === undefined ? sent : (lastStreamId(c) + 1) / 2;
      if (c.goawayCode() !== undefined || !c.socket.destroyed) {
        expect(c.goawayCode()).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
        expect(processed).toBeGreaterThanOrEqual(500);
      }
      expect(processed).toBeLessThan(1000);
      expect(sent).toBeLessThan(1000);
      await c.closed;
      // A stream goes upstream when the gateway has its request (a unary one
      // whole, a stream at its headers), unless the client has reset it by
      // then. Node hands nghttp2's input to JS frame by frame, pausing while
      // it writes, so a reset in the same TCP segment can still come after
      // the call left: those are cancelled upstream at once. Either way the
      // connection's work upstream ends at the GOAWAY, not at 1,100 calls.
      const calls = f.replicas[0]!.stats.calls;
      const upstream = calls.Echo + calls.Chat;
      console.log(
        `rapid reset, ${what}: ${sent} streams sent, ${processed} processed, ${upstream} reached the upstream`,
      );
      // Streams nghttp2 takes after the GOAWAY was asked for (until its frame
      // is written) are refused, not routed: nothing past its last stream id
      // reaches the upstream.
      expect(upstream).toBeLessThanOrEqual(processed);
      // The gateway is fine, and so are other clients.
      expect(await fetchEcho(f.url)).toBe("0");
    });
  }

  it("a stream reset before its request was complete sends nothing upstream", async () => {
    f = await startFixture();
    const c = new RawH2(f.port);
    const block = headerBlock(rpcHeaders(ECHO));
    for (let id = 1; id < 200; id += 2) {
      // Half the envelope: the unary request is not complete, so not routed.
      c.write(
        frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block),
        frame(FRAME.DATA, 0, id, echoRequest.subarray(0, 6)),
        rstStream(id, NGHTTP2_CANCEL),
      );
    }
    c.write(frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
    // The PING's answer comes after every frame before it was processed.
    expect(await c.until((fr) => fr.some((x) => x.type === FRAME.PING && x.flags & FLAG.ACK), 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(f.replicas[0]!.stats.calls.Echo).toBe(0);
    expect(c.goawayCode()).toBeUndefined();
    c.destroy();
  });

  it("a client that resets fewer than half its streams keeps its connection; one past the threshold loses it", async () => {
    f = await startFixture({ limits: { maxPrematureResets: 50 } });
    const session = http2.connect(f.url);
    session.on("error", () => {});
    let goaway: number | undefined;
    session.on("goaway", (code) => (goaway = code));
    // 60 resets among 200 completed calls: under half.
    for (let i = 0; i < 200; i++) {
      expect(await call(session)).toBe("0");
      if (i % 10 < 3) await resetCall(session);
    }
    expect(goaway).toBeUndefined();
    expect(session.destroyed).toBe(false);
    session.close();

    const { c } = await rapidReset(f.port, ECHO, true, 200);
    expect(c.goawayCode()).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
    expect((lastStreamId(c) + 1) / 2).toBeLessThan(100);
  });
});

function call(session: http2.ClientHttp2Session): Promise<string> {
  return new Promise((resolve) => {
    const req = session.request({
      ":method": "POST",
      ":path": ECHO,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", (e) => resolve(`error ${e.message}`));
    req.on("data", () => {});
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) resolve(String(h["grpc-status"]));
    });
    req.on("trailers", (t) => resolve(String(t["grpc-status"])));
    req.end(echoRequest);
  });
}

/** A call the client cancels before it has an answer (what a user closing a page does). */
function resetCall(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    const req = session.request({
      ":method": "POST",
      ":path": CHAT,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    req.on("close", () => resolve());
    setTimeout(() => req.close(NGHTTP2_CANCEL), 5);
  });
}

async function fetchEcho(url: string): Promise<string> {
  const session = http2.connect(url);
  session.on("error", () => {});
  try {
    return await call(session);
  } finally {
    session.close();
  }
}

describe("HTTP/2 CONTINUATION flood", () => {
  it("a header block that never ends is cut off at the header list limit; the gateway carries on", async () => {
    f = await startFixture();
    const c = new RawH2(f.port);
    const before = process.memoryUsage().rss;
    // HEADERS without END_HEADERS, then CONTINUATION frames of fresh header fields, never ending (CVE-2024-27983 and kin).
    c.write(frame(FRAME.HEADERS, 0, 1, headerBlock(rpcHeaders(ECHO))));
    let sent = 0;
    for (let i = 0; i < 10_000 && !c.socket.destroyed; i++) {
      const fields: Array<[string, string]> = Array.from({ length: 10 }, (_, k) => [
        `x-flood-${i}-${k}`,
        "v".repeat(90),
      ]);
      c.write(frame(FRAME.CONTINUATION, 0, 1, headerBlock(fields)));
      sent += 1;
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5_000))]);
    // 10,000 frames of 1 KiB of headers: the connection was closed long before the end.
    expect(c.socket.destroyed).toBe(true);
    expect(sent).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    console.log(`CONTINUATION flood: ${sent} frames sent, GOAWAY ${c.goawayCode()}`);
    expect(await fetchEcho(f.url)).toBe("0");
  });
});
