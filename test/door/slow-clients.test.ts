import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import http2 from "node:http2";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { h1Request } from "../helpers/raw.js";
import { RawH2 } from "../helpers/h2-frames.js";
import { H2_PREFACE } from "../../gateway/listener/preface.js";

// Issue 14, finding 2: connections that send half an HTTP/1.1 request line,
// or only the HTTP/2 preface, stayed open for as long as the client liked
// (past 150 s in the attack run), and enough of them took every descriptor.
// The inner HTTP/1.1 server never listen()s, so Node's own header-timeout
// checks never started. Header and idle timeouts must close them.

const HEADERS_MS = 400;
const IDLE_MS = 800;
/** Bound on every wait: the timeout, Node's 1 s check interval and a loaded machine. */
const WAIT_MS = 8_000;

/** Writes `bytes` on a new connection, then waits (bounded) for the server to close it; what came back, and whether it closed. */
function holdOpen(port: number, bytes: Buffer | string): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
    let reply = "";
    s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
    s.on("error", () => {});
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply, closed: false });
    }, WAIT_MS);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
  });
}

describe("slow clients are cut off (limits.requestHeadersTimeout, limits.idleTimeout)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ limits: { requestHeadersTimeoutMs: HEADERS_MS, idleTimeoutMs: IDLE_MS } });
  });
  afterAll(() => f.close());

  it("half an HTTP/1.1 request line gets 408 and the connection closes", async () => {
    const r = await holdOpen(f.port, "POST /acme.echo.v1.Echo");
    expect(r.closed).toBe(true);
    expect(r.reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("a request line and half its headers get 408 and the connection closes", async () => {
    const r = await holdOpen(f.port, "POST /acme.echo.v1.EchoService/Echo HTTP/1.1\r\nhost: x\r\ncontent-ty");
    expect(r.closed).toBe(true);
    expect(r.reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("nothing at all after connecting: closed", async () => {
    expect((await holdOpen(f.port, "")).closed).toBe(true);
  });

  it("only the HTTP/2 preface: GOAWAY, then closed", async () => {
    const c = new RawH2(f.port, { settings: false });
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
    expect(c.socket.destroyed).toBe(true);
    expect(c.goawayCode()).toBe(0);
  });

  it("an HTTP/2 connection that opens no stream, or none since its last call: GOAWAY NO_ERROR, then closed", async () => {
    const c = new RawH2(f.port);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
    expect(c.goawayCode()).toBe(0);

    const session = http2.connect(f.url);
    session.on("error", () => {});
    const goaway = new Promise<number>((r) => session.on("goaway", (code) => r(code)));
    const closed = new Promise<void>((r) => session.on("close", () => r()));
    const res = await unary(session);
    expect(res).toBe("0");
    expect(await withTimeout(goaway)).toBe(0);
    await withTimeout(closed);
  });

  it("an idle HTTP/1.1 keep-alive connection is closed after idleTimeout", async () => {
    const r = await holdOpen(
      f.port,
      `POST /acme.echo.v1.EchoService/Echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(r.reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.closed).toBe(true);
  });

  it("a stream that stays open longer than idleTimeout is not cut: idle means no stream at all", async () => {
    const session = http2.connect(f.url);
    session.on("error", () => {});
    // A client stream whose request stays open with nothing sent for 3 idle timeouts.
    const req = session.request({
      ":method": "POST",
      ":path": "/acme.echo.v1.EchoService/Sum",
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    await new Promise((r) => setTimeout(r, 3 * IDLE_MS));
    expect(session.closed || session.destroyed).toBe(false);
    const trailers = new Promise<http2.IncomingHttpHeaders>((r) => req.on("trailers", r));
    req.on("data", () => {});
    req.end(envelope(Buffer.from([0x08, 0x05]))); // SumRequest{n: 5}
    expect((await withTimeout(trailers))["grpc-status"]).toBe("0");
    session.close();
  });
});

describe("header limits (limits.maxRequestHeadersBytes, limits.maxHeadersCount)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ limits: { maxRequestHeadersBytes: 8192, maxHeadersCount: 30 } });
  });
  afterAll(() => f.close());

  const json = { "content-type": "application/json" };
  const ECHO = "/acme.echo.v1.EchoService/Echo";

  it("HTTP/1.1: headers past the size limit get 431, not a bare reset", async () => {
    const res = await h1Request(`${f.url}${ECHO}`, "POST", { ...json, "x-big": "b".repeat(10_000) }, "{}");
    expect(res.status).toBe(431);
  });

  it("HTTP/1.1: a URL past the size limit (a Connect GET) gets 431", async () => {
    const res = await h1Request(`${f.url}${ECHO}?connect=v1&encoding=json&message=${"%20".repeat(4000)}`, "GET", {});
    expect(res.status).toBe(431);
  });

  it("HTTP/1.1: more header fields than the limit get 431; as many as the limit pass", async () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"]));
    const over = await h1Request(`${f.url}${ECHO}`, "POST", { ...json, ...fields(40) }, "{}");
    expect(over.status).toBe(431);
    expect(over.body.toString()).toContain("limits.maxHeadersCount");
    // host, content-type, content-length, connection and these.
    const at = await h1Request(`${f.url}${ECHO}`, "POST", { ...json, ...fields(26) }, '{"message":"ok"}');
    expect(at.status).toBe(200);
  });

  it("HTTP/2: more header fields than the limit get 431 on that stream; the connection carries on", async () => {
    const session = http2.connect(f.url);
    session.on("error", () => {});
    const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, "v"]));
    const req = session.request({ ":method": "POST", ":path": ECHO, ...json, ...fields });
    const status = new Promise<number>((r) => req.on("response", (h) => r(Number(h[":status"]))));
    req.on("error", () => {});
    req.on("data", () => {});
    req.end("{}");
    expect(await withTimeout(status)).toBe(431);
    expect(await unary(session)).toBe("0");
    session.close();
  });

  it("HTTP/2: a header block past the size limit is refused on its stream; the connection carries on", async () => {
    const session = http2.connect(f.url);
    session.on("error", () => {});
    expect(await settled(session)).toBe(8192);
    const req = session.request({ ":method": "POST", ":path": ECHO, ...json, "x-big": "b".repeat(10_000) });
    const ended = new Promise<number | undefined>((r) => {
      req.on("response", (h) => r(Number(h[":status"])));
      req.on("close", () => r(undefined));
    });
    req.on("error", () => {});
    req.end("{}");
    expect(await withTimeout(ended)).toBeUndefined();
    expect(req.rstCode).not.toBe(0);
    expect(await unary(session)).toBe("0");
    session.close();
  });
});

describe("connections per listener (limits.maxConnections)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ limits: { maxConnections: 3 } });
  });
  afterAll(() => f.close());

  it("past the limit a new connection is closed at once; when one leaves, the next is served", async () => {
    const held = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(f.port, "127.0.0.1", () => resolve(s));
            s.on("error", () => {});
          }),
      ),
    );
    // Accepted in order: give the server a moment to count all three.
    await new Promise((r) => setTimeout(r, 100));
    const refused = await holdOpen(f.port, H2_PREFACE);
    expect(refused).toEqual({ reply: "", closed: true });
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const res = await h1Request(
      `${f.url}/acme.echo.v1.EchoService/Echo`,
      "POST",
      { "content-type": "application/json" },
      "{}",
    );
    expect(res.status).toBe(200);
    for (const s of held) s.destroy();
  });
});

function envelope(data: Buffer): Buffer {
  const b = Buffer.alloc(5 + data.length);
  b.writeUInt32BE(data.length, 1);
  data.copy(b, 5);
  return b;
}

/** One gRPC Echo call on `session`; its grpc-status. */
function unary(session: http2.ClientHttp2Session): Promise<string> {
  const req = session.request({
    ":method": "POST",
    ":path": "/acme.echo.v1.EchoService/Echo",
    "content-type": "application/grpc",
    te: "trailers",
  });
  req.on("data", () => {});
  const done = new Promise<string>((resolve, reject) => {
    req.on("trailers", (t) => resolve(String(t["grpc-status"])));
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) resolve(String(h["grpc-status"]));
    });
    req.on("error", reject);
  });
  req.end(envelope(Buffer.from([0x0a, 0x02, 0x68, 0x69])));
  return withTimeout(done);
}

function settled(session: http2.ClientHttp2Session): Promise<number | undefined> {
  return withTimeout(new Promise((r) => session.once("remoteSettings", (s) => r(s.maxHeaderListSize))));
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${WAIT_MS} ms`)), WAIT_MS)),
  ]);
}
