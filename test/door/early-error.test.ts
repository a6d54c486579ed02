import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import http2 from "node:http2";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { h1Request, h2Request } from "../helpers/raw.js";

// Issue 14, finding 5: an oversized HTTP/1.1 request got a bare connection
// reset instead of 431/413 (test/door/slow-clients.test.ts has the header
// limits); after an early error the gateway was said to read the client's
// whole body; and `GET /` on the proxy port listed the route table to anyone.

const ECHO = "/acme.echo.v1.EchoService/Echo";
const MiB = 1024 * 1024;
const BODY = 50 * MiB;
const WAIT_MS = 15_000;

let f: Fixture;
beforeAll(async () => {
  f = await startFixture({ maxMessageBytes: 64 * 1024 });
});
afterAll(() => f.close());

describe("the proxy port tells strangers nothing about the gateway", () => {
  it("GET / is 404 over HTTP/1.1 and HTTP/2, without the routes or cluster names", async () => {
    const h1 = await h1Request(`${f.url}/`, "GET", {});
    expect(h1.status).toBe(404);
    const h2 = await h2Request(f.url, { ":method": "GET", ":path": "/" });
    expect(h2.status).toBe(404);
    for (const body of [h1.body.toString(), h2.body.toString()]) {
      expect(body).not.toMatch(/echo|cluster|acme|->/i);
    }
  });
});

/**
 * A Connect unary request declaring (or chunking) a 50 MiB JSON body: the
 * status line the gateway answered with, and how much the client got to
 * write before the connection closed (socket buffers on both ends, not the body).
 */
function h1BigBody(chunked: boolean): Promise<{ statusLine: string; written: number }> {
  return new Promise((resolve) => {
    const s = net.connect(f.port, "127.0.0.1");
    let written = 0;
    let reply = "";
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
    s.on("error", () => {});
    const timer = setTimeout(() => s.destroy(), WAIT_MS);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ statusLine: reply.split("\r\n")[0]!, written });
    });
    const length = chunked ? "transfer-encoding: chunked" : `content-length: ${BODY}`;
    s.write(`POST ${ECHO} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${length}\r\n\r\n`);
    const send = (b: Buffer) => {
      if (!chunked) return s.write(b);
      s.write(`${b.length.toString(16)}\r\n`);
      s.write(b);
      return s.write("\r\n");
    };
    const pump = () => {
      while (written < BODY && !s.destroyed) {
        written += chunk.length;
        if (!send(chunk)) return void s.once("drain", pump);
      }
    };
    pump();
  });
}

describe("after an early error the rest of the request is not read", () => {
  for (const chunked of [false, true]) {
    it(`HTTP/1.1 (${chunked ? "chunked" : "content-length"}): 429 resource_exhausted, then the connection closes`, async () => {
      const r = await h1BigBody(chunked);
      expect(r.statusLine).toBe("HTTP/1.1 429 Too Many Requests");
      expect(r.written).toBeLessThan(BODY / 2);
    });
  }

  it("HTTP/2: 429 resource_exhausted, then RST_STREAM NO_ERROR", async () => {
    const session = http2.connect(f.url);
    session.on("error", () => {});
    const req = session.request({ ":method": "POST", ":path": ECHO, "content-type": "application/json" });
    req.on("error", () => {});
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", () => {});
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const closed = new Promise<void>((r) => req.on("close", () => r()));
    const pump = () => {
      while (written < BODY && !req.destroyed) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
    };
    pump();
    await Promise.race([closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
    expect(status).toBe(429);
    expect(req.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(written).toBeLessThan(BODY / 2);
    session.destroy();
  });
});
