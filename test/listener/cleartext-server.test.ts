import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CleartextServer } from "../../gateway/listener/cleartext-server.js";

// The one-port cleartext server on its own: real sockets, real node:http2 and
// node:http clients, and a relay that dribbles the first bytes one at a time
// so the preface sniffing has to wait for more.

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(sniffTimeoutMs?: number) {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader("content-type", "text/plain");
    res.end(`${req.httpVersion} ${req.method} ${req.url}`);
  };
  const server = new CleartextServer(
    http.createServer(handler),
    http2.createServer({}, handler as never),
    sniffTimeoutMs === undefined ? undefined : () => sniffTimeoutMs,
  );
  const sessions: http2.Http2Session[] = [];
  // What reads the socket: a JSStreamSocket-wrapped session (what httpolyglot
  // produced) has a JSStream handle; nghttp2 reading the socket itself, TCP.
  const handles: string[] = [];
  server.on("session", (s: http2.Http2Session) => {
    sessions.push(s);
    handles.push((s.socket as unknown as { _handle?: object })._handle?.constructor.name ?? "none");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sessions) s.destroy();
        server.closeIdleConnections();
      }),
  );
  return { server, port: (server.address() as net.AddressInfo).port, sessions, handles };
}

/** A TCP relay that forwards the client's first `slowBytes` bytes one per tick. */
async function dribbleRelay(target: number, slowBytes: number) {
  const relay = net.createServer((client) => {
    const upstream = net.connect({ port: target, host: "127.0.0.1", noDelay: true });
    let left = slowBytes;
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      client.pause();
      queue = queue.then(async () => {
        for (let i = 0; i < chunk.length; i++) {
          if (left > 0) {
            left--;
            upstream.write(chunk.subarray(i, i + 1));
            await new Promise((r) => setTimeout(r, 2));
          } else {
            upstream.write(chunk.subarray(i));
            break;
          }
        }
        client.resume();
      });
    });
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => relay.close(() => r())));
  return (relay.address() as net.AddressInfo).port;
}

function h2Get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":path": path });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      session.close();
      resolve(body);
    });
    req.on("error", reject);
  });
}

function h1Get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: "127.0.0.1", path, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

describe("CleartextServer: h2c and HTTP/1.1 on one port", () => {
  it("serves both protocols, and HTTP/2 keeps the socket's native handle (no JS stream wrapper)", async () => {
    const { port, handles } = await start();
    expect(await h2Get(port, "/two")).toBe("2.0 GET /two");
    expect(await h1Get(port, "/one")).toBe("1.1 GET /one");
    expect(handles).toEqual(["TCP"]);
  });

  it("waits for a preface that arrives a byte at a time", async () => {
    const { port } = await start();
    const relay = await dribbleRelay(port, 40);
    expect(await h2Get(relay, "/slow-h2")).toBe("2.0 GET /slow-h2");
    expect(await h1Get(relay, "/slow-h1")).toBe("1.1 GET /slow-h1");
  });

  it("answers bytes that are neither protocol with HTTP/1.1 400, not a hang", async () => {
    const { port } = await start();
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () =>
        s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 13, 10, 13, 10])),
      );
      let got = "";
      s.on("data", (d) => (got += d.toString("latin1")));
      s.on("close", () => resolve(got));
      s.on("error", () => {});
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });

  it("closes a connection that sends nothing within the sniff timeout", async () => {
    const { port } = await start(150);
    const closedAfter = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = net.connect({ port, host: "127.0.0.1" });
      s.on("error", () => {});
      s.on("close", () => resolve(Date.now() - t0));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(100);
  });
});
