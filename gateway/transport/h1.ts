import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { streamChunks } from "../call/stream-chunks.js";
import { Code } from "../call/status.js";
import {
  type HttpTransport,
  type UpstreamHttpRequest,
  type UpstreamHttpResponse,
  type WholeHttpResponse,
  UpstreamError,
  bodyTooLarge,
  isConnectError,
  watchConnect,
} from "./contract.js";

export interface H1Options {
  host: string;
  port: number;
  tls?: https.AgentOptions;
  label: string;
  /** A new socket must be connected (and through TLS) by then. */
  connectTimeoutMs: number;
  /** A TCP connection to the endpoint could not be made (refused, unreachable, timed out). */
  onConnectFailure?: (err: Error) => void;
}

/** HTTP/1.1 keep-alive pool, for Connect and gRPC-Web upstreams that want it. */
export class H1Transport implements HttpTransport {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(private readonly opts: H1Options) {
    this.mod = opts.tls ? https : http;
    this.agent = opts.tls
      ? new https.Agent({ keepAlive: true, maxSockets: 256, ...opts.tls })
      : new http.Agent({ keepAlive: true, maxSockets: 256 });
  }

  request(req: UpstreamHttpRequest): Promise<UpstreamHttpResponse> {
    const label = this.opts.label;
    return new Promise((resolve, reject) => {
      let sent = false;
      const r = this.mod.request({
        host: this.opts.host,
        port: this.opts.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        agent: this.agent,
      });
      const report = this.opts.onConnectFailure;
      // A new socket is still connecting; a reused keep-alive one is not.
      if (report) r.once("socket", (socket) => watchConnect(socket, report));
      const offCancel = req.cancel.on(() => r.destroy(new Error("call cancelled")));
      r.once("close", offCancel);
      let connectTimedOut = false;
      r.once("socket", (socket) => {
        // A reused keep-alive socket is connected already.
        if (!socket.connecting) return;
        const ms = this.opts.connectTimeoutMs;
        const t = setTimeout(() => {
          connectTimedOut = true;
          r.destroy(new Error(`no connection within ${ms} ms (connectTimeout)`));
        }, ms);
        socket.once(this.opts.tls ? "secureConnect" : "connect", () => clearTimeout(t));
        r.once("close", () => clearTimeout(t));
      });
      r.on("error", (err) => {
        const neverLeft = connectTimedOut || (!sent && isConnectError(err));
        reject(
          new UpstreamError(
            req.cancel.cancelled ? Code.CANCELLED : Code.UNAVAILABLE,
            `${label} unreachable: ${err.message}`,
            neverLeft,
          ),
        );
      });
      r.on("finish", () => (sent = true));
      r.on("response", (res) => {
        async function* body(): AsyncGenerator<Buffer> {
          try {
            for await (const chunk of streamChunks(res)) yield chunk;
          } catch (err) {
            throw new UpstreamError(
              Code.UNAVAILABLE,
              `${label} broke off the response: ${(err as Error).message}`,
              false,
            );
          }
          if (!res.complete) throw new UpstreamError(Code.UNAVAILABLE, `${label} broke off the response`, false);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: body(),
          trailers: () => res.trailers as IncomingHttpHeaders,
        });
      });
      if (req.body instanceof Uint8Array) {
        r.end(req.body);
      } else {
        (async () => {
          for await (const chunk of req.body as AsyncIterable<Uint8Array>) {
            if (!r.write(chunk)) await new Promise((ok) => r.once("drain", ok));
          }
          r.end();
        })().catch((err) => r.destroy(err));
      }
    });
  }

  /** Not a hot path (HTTP/1.1 upstreams are the odd ones), so built on request(). */
  async exchange(req: UpstreamHttpRequest & { body: Uint8Array }, maxBodyBytes: number): Promise<WholeHttpResponse> {
    const res = await this.request(req);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      // The attempt's cancel, which follows, destroys the request.
      if (size > maxBodyBytes) throw bodyTooLarge(this.opts.label, maxBodyBytes);
      chunks.push(chunk);
    }
    return { status: res.status, headers: res.headers, chunks, trailers: res.trailers() };
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
