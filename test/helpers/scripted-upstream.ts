import http2 from "node:http2";
import type { AddressInfo } from "node:net";

export interface SeenAttempt {
  path: string;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  at: number;
  /** The gateway reset the stream before the script answered (a lost hedge, a cancel). */
  cancelled: boolean;
}

/** What the upstream does with attempt number n (0-based, across all calls). */
export type Script = (
  n: number,
  seen: SeenAttempt,
) => {
  status: number;
  message?: string;
  pushbackMs?: string;
  reply?: Buffer;
  delayMs?: number;
  /** Put the status in the response headers and still send `reply` as a body (a protocol error). */
  statusInHeaders?: boolean;
};

/**
 * A raw HTTP/2 gRPC upstream that answers by script and records every
 * attempt it sees (headers, request bytes, arrival time): the one place
 * the tests need to look at exactly what the gateway sent upstream.
 */
export async function startScriptedUpstream(
  script: Script,
): Promise<{ address: string; seen: SeenAttempt[]; close(): Promise<void> }> {
  const seen: SeenAttempt[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const attempt: SeenAttempt = {
        path: String(headers[":path"]),
        headers,
        body: Buffer.concat(chunks),
        at: performance.now(),
        cancelled: false,
      };
      const n = seen.push(attempt) - 1;
      const a = script(n, attempt);
      let answered = false;
      stream.on("close", () => {
        if (!answered) attempt.cancelled = true;
      });
      const answer = () => {
        answered = true;
        if (!stream.destroyed) respond(a);
      };
      if (a.delayMs) setTimeout(answer, a.delayMs);
      else answer();
    });
    const respond = (a: ReturnType<Script>) => {
      const trailers: Record<string, string> = { "grpc-status": String(a.status) };
      if (a.message) trailers["grpc-message"] = a.message;
      if (a.pushbackMs !== undefined) trailers["grpc-retry-pushback-ms"] = a.pushbackMs;
      if (a.reply === undefined) {
        stream.respond({ ":status": 200, "content-type": "application/grpc", ...trailers }, { endStream: true });
        return;
      }
      if (a.statusInHeaders) stream.respond({ ":status": 200, "content-type": "application/grpc", ...trailers });
      else {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers(trailers));
      }
      const env = Buffer.alloc(5 + a.reply.length);
      env.writeUInt32BE(a.reply.length, 1);
      a.reply.copy(env, 5);
      stream.end(env);
    };
  });
  server.on("sessionError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
