import { afterEach, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope } from "../helpers/raw.js";
import { defaultResilience } from "../../gateway/config/resilience.js";

// Issue 14, finding 1: two clients each opening 1,000 bidi streams and
// sending nothing filled the endpoints' maxInFlight, and every other caller
// got UNAVAILABLE "at maxInFlight" for as long as the streams were held.
// Nothing bounded streams per connection below Node's default, and the cap
// was shared first come, first served.

const CHAT = "/acme.echo.v1.EchoService/Chat";
const ECHO = "/acme.echo.v1.EchoService/Echo";
const WAIT_MS = 15_000;

let f: Fixture | undefined;
const sessions: http2.ClientHttp2Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await f?.close();
  f = undefined;
});

interface Greedy {
  session: http2.ClientHttp2Session;
  /** Streams not ended yet (opened or, past the stream limit, queued by the client), and the ended ones by grpc-status. */
  open: number;
  ended: Map<string, number>;
}

/** A client that opens `n` bidi streams on one connection and never sends a message on them. */
function greedy(url: string, n: number): Greedy {
  const session = http2.connect(url);
  session.on("error", () => {});
  sessions.push(session);
  const g: Greedy = { session, open: n, ended: new Map() };
  for (let i = 0; i < n; i++) {
    const req = session.request({
      ":method": "POST",
      ":path": CHAT,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    req.on("data", () => {});
    const end = (status: unknown) => {
      g.open--;
      const k = String(status);
      g.ended.set(k, (g.ended.get(k) ?? 0) + 1);
    };
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) end(h["grpc-status"]);
    });
    req.on("trailers", (t) => end(t["grpc-status"]));
  }
  return g;
}

async function until(test: () => boolean, what: string): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `n` unary gRPC calls from a client of its own; their grpc-status values. */
async function politeCalls(url: string, n: number): Promise<string[]> {
  const session = http2.connect(url);
  session.on("error", () => {});
  sessions.push(session);
  const one = () =>
    new Promise<string>((resolve) => {
      const req = session.request({
        ":method": "POST",
        ":path": ECHO,
        "content-type": "application/grpc",
        te: "trailers",
      });
      req.on("error", (e) => resolve(`error ${e.message}`));
      req.on("data", () => {});
      req.on("response", (h) => {
        if (h["grpc-status"] !== undefined) resolve(`${h["grpc-status"]} ${h["grpc-message"] ?? ""}`.trim());
      });
      req.on("trailers", (t) => resolve(`${t["grpc-status"]} ${t["grpc-message"] ?? ""}`.trim()));
      req.end(envelope(0, Buffer.from([0x0a, 0x02, 0x68, 0x69])));
    });
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  return out;
}

describe("greedy connections do not lock everyone out", () => {
  it("with the defaults: two connections asking for 1,000 idle streams each get 100 each, and a third client is served", async () => {
    f = await startFixture();
    const a = greedy(f.url, 1000);
    const b = greedy(f.url, 1000);
    const replica = f.replicas[0]!;
    await until(() => replica.stats.calls.Chat >= 200, "both greedy connections' streams to reach the replica");
    expect(a.session.remoteSettings.maxConcurrentStreams).toBe(100);
    // Node's client queues what is past the limit; a raw client would see REFUSED_STREAM.
    expect(f.gateway.fair.holders("echo")).toEqual([100, 100]);
    expect(await politeCalls(f.url, 20)).toEqual(Array(20).fill("0"));
    expect(replica.stats.calls.Chat).toBe(200);
    expect([a.open, b.open]).toEqual([1000, 1000]);
  });

  it("at the cluster's capacity, the heaviest connection's newest calls are shed for other clients (fair share)", async () => {
    // 150 calls fit the one endpoint: two greedy connections of 100 streams would take them all.
    f = await startFixture({
      resilience: { circuitBreaker: { ...defaultResilience().circuitBreaker, maxInFlight: 150 } },
    });
    const a = greedy(f.url, 100);
    await until(() => f!.replicas[0]!.stats.calls.Chat === 100, "the first greedy connection to hold 100 streams");
    const b = greedy(f.url, 100);
    // The second one takes its place by shedding the first one's newest calls, down to an even split.
    await until(() => a.ended.size > 0 && b.ended.size > 0 && a.open + b.open === 150, "an even split of the 150");
    expect(f.gateway.fair.holders("echo")).toEqual([75, 75]);
    expect([a.open, b.open]).toEqual([75, 75]);
    expect(a.ended.get("8")).toBe(25);
    // Past an even split nobody is heavier: its own extra streams meet the endpoint's cap.
    expect(b.ended.get("14")).toBe(25);
    // A third client, holding nothing, is served: each of its calls takes a place from the heaviest.
    expect(await politeCalls(f.url, 10)).toEqual(Array(10).fill("0"));
    expect(a.open + b.open).toBeLessThanOrEqual(150);
    expect(a.open + b.open).toBeGreaterThanOrEqual(140);
  });
});
