// Holds N idle HTTP/2 connections to a port, each after one unary gRPC call
// (so the server has set up whatever it keeps per connection), until SIGTERM.
// With S streams per connection, each connection then also holds S open
// bidi Chat calls, each of which has sent one message and had its echo back
// (so the stream is set up end to end: client, proxy, upstream).
//
//   node bench/lib/idle-client.mjs <port> <connections> <body-file> [streams-per-connection]
//   -> prints "ready N" once every connection (and stream) is set up
import http2 from "node:http2";
import { readFileSync } from "node:fs";

const [port, countText, bodyFile, streamsText = "0"] = process.argv.slice(2);
const count = Number(countText);
const streamsPerConn = Number(streamsText);
const open = [];
const body = readFileSync(bodyFile);
const sessions = [];

function oneConnection() {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", reject);
    sessions.push(s);
    const st = s.request({
      ":method": "POST",
      ":path": "/acme.echo.v1.EchoService/Echo",
      "content-type": "application/grpc",
      te: "trailers",
    });
    st.on("error", reject);
    st.on(
      "response",
      (h) => h["grpc-status"] && h["grpc-status"] !== "0" && reject(new Error(`grpc-status ${h["grpc-status"]}`)),
    );
    st.resume();
    st.on("trailers", (t) =>
      t["grpc-status"] === "0" ? resolve(s) : reject(new Error(`grpc-status ${t["grpc-status"]}`)),
    );
    st.end(body);
  });
}

/** One bidi Chat call left open after one message each way. */
function openStream(s) {
  return new Promise((resolve, reject) => {
    const st = s.request({
      ":method": "POST",
      ":path": "/acme.echo.v1.EchoService/Chat",
      "content-type": "application/grpc",
      te: "trailers",
    });
    open.push(st);
    st.on("error", reject);
    st.on(
      "response",
      (h) =>
        h["grpc-status"] &&
        reject(new Error(`Chat ended at once: grpc-status ${h["grpc-status"]} ${h["grpc-message"] ?? ""}`)),
    );
    st.once("data", () => resolve());
    st.on("trailers", (t) =>
      reject(new Error(`Chat ended: grpc-status ${t["grpc-status"]} ${t["grpc-message"] ?? ""}`)),
    );
    st.write(body);
  });
}

const BATCH = 50;
try {
  for (let i = 0; i < count; i += BATCH) {
    const made = await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, oneConnection));
    for (const s of made) await Promise.all(Array.from({ length: streamsPerConn }, () => openStream(s)));
  }
} catch (err) {
  console.error(`idle-client: ${err.message}`);
  process.exit(1);
}
console.log(`ready ${sessions.length}${streamsPerConn ? ` connections, ${open.length} open streams` : ""}`);
process.on("SIGTERM", () => {
  for (const s of sessions) s.destroy();
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
