import http2 from "node:http2";
import http from "node:http";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  trailers: Record<string, string | string[] | undefined>;
}

/** One HTTP/2 request with prior knowledge, body sent as given (hostile input welcome). */
export function h2Request(
  url: string,
  headers: Record<string, string>,
  body?: Buffer | Buffer[],
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ...headers });
    let trailers = {};
    const chunks: Buffer[] = [];
    req.on("trailers", (t) => (trailers = t));
    req.on("response", (h) => {
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        session.close();
        resolve({ status: Number(h[":status"]), headers: h, body: Buffer.concat(chunks), trailers });
      });
    });
    req.on("error", (e) => {
      session.close();
      reject(e);
    });
    for (const b of Array.isArray(body) ? body : body ? [body] : []) req.write(b);
    req.end();
  });
}

/** One HTTP/1.1 request. */
export function h1Request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          trailers: res.trailers,
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function envelope(flags: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + data.byteLength);
  b[0] = flags;
  b.writeUInt32BE(data.byteLength, 1);
  b.set(data, 5);
  return b;
}

/** Splits a body into (flags, data) frames. */
export function frames(body: Buffer): Array<{ flags: number; data: Buffer }> {
  const out = [];
  let i = 0;
  while (i + 5 <= body.length) {
    const len = body.readUInt32BE(i + 1);
    out.push({ flags: body[i], data: body.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}
