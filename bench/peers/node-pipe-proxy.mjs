// A baseline peer for the benchmark: the least a node:http2 proxy can do.
// Every incoming HTTP/2 stream is sent on one pooled client session to the
// upstream, headers copied, bodies piped both ways, trailers forwarded. No
// protocol detection, routing, deadlines or resilience: the floor that
// Switchyard's own per-call work sits on top of (../shared/DESIGN.md,
// "What the hot path may cost").
//
//   node bench/peers/node-pipe-proxy.mjs <listen-port|0> <upstream host:port>
//   -> prints "listening on 127.0.0.1:PORT"
import http2 from "node:http2";
import net from "node:net";

const [portArg = "0", upstream] = process.argv.slice(2);
if (!upstream) {
  console.error("usage: node-pipe-proxy.mjs <listen-port> <upstream host:port>");
  process.exit(2);
}
const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
// Same window and memory settings as the gateway, so both get the same pipe.
const settings = { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 };

let session;
function pooled() {
  if (session && !session.closed && !session.destroyed) return session;
  const [host, port] = [
    upstream.slice(0, upstream.lastIndexOf(":")),
    Number(upstream.slice(upstream.lastIndexOf(":") + 1)),
  ];
  const s = http2.connect(`http://${upstream}`, {
    createConnection: () => net.connect({ host, port, noDelay: true }),
    settings: { initialWindowSize: 1 << 20, enablePush: false },
    maxSessionMemory: 64,
  });
  s.on("error", () => {});
  s.on("connect", () => s.setLocalWindowSize(16 << 20));
  s.on("close", () => session === s && (session = undefined));
  s.on("goaway", () => session === s && (session = undefined));
  return (session = s);
}

const server = http2.createServer({ settings, maxSessionMemory: 64 });
server.on("connection", (socket) => socket.setNoDelay(true));
server.on("stream", (down, headers) => {
  const { ":method": method, ":path": path, ":authority": _a, ":scheme": _s, ...rest } = headers;
  let up;
  try {
    up = pooled().request({ ":method": method, ":path": path, ...rest }, { endStream: false });
  } catch {
    down.close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  let trailers = {};
  up.on("response", (h) => {
    if (!down.closed) down.respond(h, { waitForTrailers: true });
  });
  up.on("trailers", (t) => (trailers = t));
  down.on("wantTrailers", () => down.sendTrailers(trailers));
  up.on("error", () => !down.closed && down.close(NGHTTP2_INTERNAL_ERROR));
  down.on("error", () => {});
  down.on("close", () => !up.closed && !(up.readableEnded && up.writableFinished) && up.close(NGHTTP2_CANCEL));
  down.pipe(up);
  up.pipe(down);
});
server.listen(Number(portArg), "127.0.0.1", () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on("SIGTERM", () => process.exit(0));
