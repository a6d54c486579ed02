// Request bodies on the wire (written once to files for h2load, wrk and ghz)
// and a one-call check that a target really answers them correctly: h2load
// counts any HTTP 200 as a success, even one carrying a gRPC error.
import http from "node:http";
import http2 from "node:http2";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const varint = (n) => {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
};
const stringField = (no, s) =>
  Buffer.concat([Buffer.from([(no << 3) | 2]), varint(Buffer.byteLength(s)), Buffer.from(s)]);
const intField = (no, n) => Buffer.concat([Buffer.from([no << 3]), varint(n)]);
const envelope = (msg) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
};

const ECHO = "/acme.echo.v1.EchoService/Echo";
const COUNT = "/acme.echo.v1.EchoService/Count";
const GRPC = { "content-type": "application/grpc", te: "trailers" };

/** Status from the gRPC-Web trailer frame (flag 0x80) at the end of a body. */
function grpcWebStatus(body) {
  for (let i = 0; i + 5 <= body.length;) {
    const len = body.readUInt32BE(i + 1);
    if (body[i] & 0x80) return /grpc-status:\s*(\d+)/i.exec(body.subarray(i + 5, i + 5 + len).toString())?.[1];
    i += 5 + len;
  }
  return undefined;
}

/**
 * Every request shape the scenarios use. `body` is written to `<tmp>/<name>.bin`
 * (bodyFile); ghz scenarios also get a JSON data file (dataFile).
 */
export function makeWires(tmp, { streamCount, streamPad }) {
  const small = "hello";
  const big = "x".repeat(64 * 1024);
  const wires = {
    grpcSmall: {
      http: "2",
      path: ECHO,
      headers: GRPC,
      body: envelope(stringField(1, small)),
      ghzData: { message: small },
      expect: small,
    },
    grpc64k: {
      http: "2",
      path: ECHO,
      headers: GRPC,
      body: envelope(stringField(1, big)),
      ghzData: { message: big },
      expect: big,
    },
    grpcStream: {
      http: "2",
      path: COUNT,
      headers: { ...GRPC, "x-bench-pad": String(streamPad) },
      body: envelope(Buffer.concat([intField(1, streamCount), intField(2, 0)])),
      minBytes: streamCount * streamPad,
    },
    grpcWeb: {
      http: "2",
      path: ECHO,
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: envelope(stringField(1, small)),
      expect: small,
      grpcWeb: true,
    },
    connectJson: {
      http: "2",
      path: ECHO,
      headers: { "content-type": "application/json", "connect-protocol-version": "1" },
      body: Buffer.from(JSON.stringify({ message: small })),
      expect: small,
      json: true,
    },
    connectProtoH1: {
      http: "1.1",
      path: ECHO,
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      body: stringField(1, small),
      expect: small,
    },
  };
  for (const [name, w] of Object.entries(wires)) {
    w.name = name;
    w.bodyFile = join(tmp, `${name}.bin`);
    writeFileSync(w.bodyFile, w.body);
    if (w.ghzData) {
      w.dataFile = join(tmp, `${name}.ghz.json`);
      writeFileSync(w.dataFile, JSON.stringify(w.ghzData));
    }
    // wrk's Lua script: fixed method, headers and (binary-safe) body from the file.
    w.wrkScript = join(tmp, `${name}.lua`);
    const headerLines = Object.entries(w.headers).map(
      ([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`,
    );
    writeFileSync(
      w.wrkScript,
      [
        `wrk.method = "POST"`,
        ...headerLines,
        `local f = assert(io.open(${JSON.stringify(w.bodyFile)}, "rb"))`,
        `wrk.body = f:read("*a")`,
        `f:close()`,
        "",
      ].join("\n"),
    );
  }
  return wires;
}

function exchange(port, w) {
  if (w.http === "1.1") {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: w.path,
          headers: { ...w.headers, "content-length": w.body.length },
          agent: false,
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode, headers: res.headers, trailers: {}, body: Buffer.concat(chunks) }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
      req.end(w.body);
    });
  }
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const timer = setTimeout(() => session.destroy(new Error("timed out")), 10_000);
    const stream = session.request({ ":method": "POST", ":path": w.path, ...w.headers });
    let headers = {};
    let trailers = {};
    const chunks = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c) => chunks.push(c));
    stream.on("error", reject);
    stream.on("end", () => {
      clearTimeout(timer);
      session.close();
      resolve({ status: Number(headers[":status"]), headers, trailers, body: Buffer.concat(chunks) });
    });
    stream.end(w.body);
  });
}

/** One call; returns undefined if the answer is right, else what is wrong. */
export async function verify(port, w) {
  let r;
  try {
    r = await exchange(port, w);
  } catch (err) {
    return `request failed: ${err.message}`;
  }
  if (r.status !== 200) return `HTTP ${r.status}: ${r.body.toString().slice(0, 200)}`;
  if (w.grpcWeb) {
    const status = grpcWebStatus(r.body) ?? r.headers["grpc-status"];
    if (status !== "0") return `gRPC-Web status ${status}`;
  } else if (w.headers["content-type"] === "application/grpc") {
    const status = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
    if (status !== "0") return `grpc-status ${status} ${r.trailers["grpc-message"] ?? r.headers["grpc-message"] ?? ""}`;
    // A proxy that passes gRPC through must deliver the upstream's trailers
    // after the body; an OK in the response headers (trailers-only) is not
    // what the upstream sent for a call with a message.
    if (r.trailers["grpc-status"] === undefined) return "grpc-status 0 came in the response headers, not in trailers";
  }
  if (w.json) {
    let msg;
    try {
      msg = JSON.parse(r.body.toString()).message;
    } catch {
      return `response is not JSON: ${r.body.toString().slice(0, 200)}`;
    }
    if (msg !== w.expect) return `JSON message ${JSON.stringify(msg)?.slice(0, 40)}, want the request's`;
  } else if (w.expect && !r.body.includes(w.expect)) {
    return `response body (${r.body.length} B) does not carry the request message`;
  }
  if (w.minBytes && r.body.length < w.minBytes) return `stream body ${r.body.length} B, want at least ${w.minBytes}`;
  return undefined;
}
