import http2 from "node:http2";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  CountRequestSchema,
  CountResponseSchema,
  EchoRequestSchema,
  EchoResponseSchema,
} from "../../gen/acme/echo/v1/echo_pb.js";

/** A gRPC call that ended with a status other than OK, or never got one. */
export class CallFailed extends Error {}

/**
 * A gRPC client on one HTTP/2 connection at a time, so a test knows which
 * TCP connection (`localPort`) each call took, and from that which gateway
 * worker served it (socket-owner.ts). When the connection dies, the next
 * call opens a new one, as a gRPC channel reconnects.
 */
export class PinnedConnection {
  private session: http2.ClientHttp2Session | undefined;
  /** Connections opened so far. */
  connections = 0;

  constructor(private readonly url: string) {}

  /** The client side's port of the current connection. */
  get localPort(): number | undefined {
    return this.session && !this.session.destroyed ? this.session.socket?.localPort : undefined;
  }

  /** The gateway side's port of the current connection. */
  get remotePort(): number | undefined {
    return this.session && !this.session.destroyed ? this.session.socket?.remotePort : undefined;
  }

  /** Opens the connection now (a call would anyway). */
  async connect(): Promise<void> {
    await this.live();
  }

  /** `headers` go with the call (e.g. x-echo-fail: the replica fails it with that code). */
  async echo(message: string, timeoutMs = 5000, headers: Record<string, string> = {}): Promise<string> {
    const [answer] = await this.call(
      "/acme.echo.v1.EchoService/Echo",
      EchoRequestSchema,
      { message },
      EchoResponseSchema,
      timeoutMs,
      undefined,
      headers,
    );
    if (!answer) throw new CallFailed("Echo answered no message");
    return answer.replica;
  }

  /** Count's messages as they come; `onMessage` sees each. */
  count(count: number, intervalMs: number, onMessage: (n: number) => void, timeoutMs = 10_000): Promise<number[]> {
    return this.call(
      "/acme.echo.v1.EchoService/Count",
      CountRequestSchema,
      { count, intervalMs },
      CountResponseSchema,
      timeoutMs,
      (m) => onMessage(m.n),
    ).then((ms) => ms.map((m) => m.n));
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private live(): Promise<http2.ClientHttp2Session> {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return Promise.resolve(s);
    return new Promise((resolve, reject) => {
      const session = http2.connect(this.url);
      this.session = session;
      this.connections++;
      session.on("error", () => {});
      session.once("close", () => {
        if (this.session === session) this.session = undefined;
      });
      session.once("connect", () => resolve(session));
      session.once("error", reject);
    });
  }

  private async call<I extends DescMessage, O extends DescMessage>(
    path: string,
    inSchema: I,
    input: Parameters<typeof create<I>>[1],
    outSchema: O,
    timeoutMs: number,
    onMessage?: (m: MessageShape<O>) => void,
    headers: Record<string, string> = {},
  ): Promise<MessageShape<O>[]> {
    const session = await this.live();
    const body = toBinary(inSchema, create(inSchema, input));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    return new Promise((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(new CallFailed(`no status within ${timeoutMs} ms`));
      }, timeoutMs);
      const messages: MessageShape<O>[] = [];
      let buffered = Buffer.alloc(0);
      let status: string | undefined;
      let message = "";
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          message = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      req.on("response", take);
      req.on("trailers", take);
      req.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
          const len = buffered.readUInt32BE(1);
          const m = fromBinary(outSchema, buffered.subarray(5, 5 + len));
          buffered = buffered.subarray(5 + len);
          messages.push(m);
          onMessage?.(m);
        }
      });
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(new CallFailed(`stream failed: ${err.message}`));
      });
      req.on("close", () => {
        clearTimeout(timer);
        if (status === "0") resolve(messages);
        else if (status !== undefined) reject(new CallFailed(`grpc-status ${status}: ${message}`));
        else reject(new CallFailed(`stream closed without a status (rst code ${req.rstCode})`));
      });
      req.end(frame);
    });
  }
}
