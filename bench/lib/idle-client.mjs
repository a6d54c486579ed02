// Holds N idle HTTP/2 connections to a port, each after one unary gRPC call
// (so the server has set up whatever it keeps per connection), until SIGTERM.
//
//   node bench/lib/idle-client.mjs <port> <connections> <body-file>
//   -> prints "ready N" once every connection has made its call
import http2 from "node:http2";
import { readFileSync } from "node:fs";

const [port, countText, bodyFile] = process.argv.slice(2);
const count = Number(countText);
const body = readFileSync(bodyFile);
const sessions = [];

function oneConnection() {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", reject);
    sessions.push(s);
    const st = s.request({ ":method": "POST", ":path": "/acme.echo.v1.EchoService/Echo", "content-type": "application/grpc", te: "trailers" });
    st.on("error", reject);
    st.on("response", (h) => h["grpc-status"] && h["grpc-status"] !== "0" && reject(new Error(`grpc-status ${h["grpc-status"]}`)));
    st.resume();
    st.on("trailers", (t) => (t["grpc-status"] === "0" ? resolve() : reject(new Error(`grpc-status ${t["grpc-status"]}`))));
    st.end(body);
  });
}

const BATCH = 50;
try {
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, oneConnection));
  }
} catch (err) {
  console.error(`idle-client: ${err.message}`);
  process.exit(1);
}
console.log(`ready ${sessions.length}`);
process.on("SIGTERM", () => {
  for (const s of sessions) s.destroy();
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
