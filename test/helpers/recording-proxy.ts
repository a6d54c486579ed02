import http2 from "node:http2";
import type { AddressInfo } from "node:net";

export interface Recorded {
  /** What the gateway sent: request headers and the body's bytes exactly as they came. */
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** What the upstream answered with (headers of its response). */
  responseHeaders: http2.IncomingHttpHeaders;
}

/**
 * A cleartext HTTP/2 hop between the gateway and a real upstream (a demo
 * replica) that records every request byte for byte before passing it on,
 * and the upstream's response headers: the test sees what went over the
 * wire, and a real server still has to understand it. Bodies are held
 * whole, which suits unary calls and short streams only.
 */
export async function startRecordingProxy(
  target: string,
): Promise<{ address: string; seen: Recorded[]; close(): Promise<void> }> {
  const seen: Recorded[] = [];
  const upstream = http2.connect(`http://${target}`);
  upstream.on("error", () => {});
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const forwarded: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(headers)) if (k !== ":scheme" && k !== ":authority") forwarded[k] = v;
      const req = upstream.request(forwarded);
      req.on("error", () => stream.destroy());
      req.end(body);
      let responseHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      const out: Buffer[] = [];
      req.on("response", (h) => (responseHeaders = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (c: Buffer) => out.push(c));
      req.on("end", () => {
        seen.push({ headers, body, responseHeaders });
        if (stream.destroyed) return;
        const t = trailers;
        stream.respond(responseHeaders, t ? { waitForTrailers: true } : {});
        if (t) stream.on("wantTrailers", () => stream.sendTrailers(t));
        stream.end(Buffer.concat(out));
      });
    });
  });
  server.on("sessionError", () => {});
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        upstream.destroy();
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
