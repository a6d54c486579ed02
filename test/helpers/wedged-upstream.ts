import net from "node:net";

/**
 * How a wedged upstream misbehaves:
 * - "bad-settings": answers the connection preface with 7 garbage bytes
 *   where its SETTINGS frame should be, then nothing (the handshake never ends);
 * - "bad-hpack": a proper handshake, then answers each request with a
 *   HEADERS frame whose header block HPACK cannot decode;
 * - "silent": accepts the connection and never says a word.
 */
export type Wedge = "bad-settings" | "bad-hpack" | "silent";

/**
 * A raw TCP "HTTP/2 upstream" that wedges the way `wedge` says, for the
 * failures Node's own http2 server will not produce. `connections` counts
 * the TCP connections it accepted.
 */
export async function startWedgedUpstream(
  wedge: Wedge,
): Promise<{ address: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    if (wedge === "bad-settings") s.write(Buffer.from([0x00, 0x00, 0x07, 0x04, 0xde, 0xad, 0xbe]));
    else if (wedge === "bad-hpack") answerWithBadHpack(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const SETTINGS = 0x4;
const HEADERS = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** An empty SETTINGS, an ACK of the client's, and to every request a HEADERS block of index 0 (never valid in HPACK). */
function answerWithBadHpack(s: net.Socket): void {
  s.write(frame(SETTINGS, 0, 0));
  let buf = Buffer.alloc(0);
  let prefaceSeen = false;
  s.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!prefaceSeen) {
      if (buf.length < PREFACE.length) return;
      buf = buf.subarray(PREFACE.length);
      prefaceSeen = true;
    }
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) return;
      const type = buf[3];
      const flags = buf[4];
      const stream = buf.readUInt32BE(5) & 0x7fffffff;
      buf = buf.subarray(9 + len);
      if (type === SETTINGS && !(flags & ACK)) s.write(frame(SETTINGS, ACK, 0));
      else if (type === HEADERS) s.write(frame(HEADERS, END_HEADERS, stream, Buffer.from([0x80, 0xff, 0xff])));
    }
  });
}
