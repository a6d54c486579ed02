import net from "node:net";
import { H2_PREFACE } from "../../gateway/listener/preface.js";

// HTTP/2 frames by hand, for clients that misbehave the way node:http2's
// client never would (RFC 9113 section 4; headers as HPACK literals without
// indexing, RFC 7541 section 6.2.2, so no dynamic table is needed).

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.byteLength);
  b.writeUIntBE(payload.byteLength, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  b.set(payload, 9);
  return b;
}

/** An HPACK integer with an n-bit prefix (RFC 7541 section 5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing, names lower case. */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  const parts: number[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(0x00, ...hpackInt(n.length, 7), ...n, ...hpackInt(v.length, 7), ...v);
  }
  return Buffer.from(parts);
}

/** The request headers of an RPC to `path`. */
export function rpcHeaders(path: string, contentType = "application/grpc"): Array<[string, string]> {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", contentType],
    ["te", "trailers"],
  ];
}

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * A raw HTTP/2 client connection: sends what it is told, and parses what
 * the server sends into frames. It acknowledges the server's SETTINGS (a
 * server may otherwise time the connection out) and nothing else.
 */
export class RawH2 {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private readonly ack: boolean;

  /** `settings: false` sends the preface alone, and then acknowledges nothing (a SETTINGS ACK first would be a protocol error). */
  constructor(port: number, opts: { preface?: boolean; settings?: boolean } = {}) {
    this.ack = opts.settings !== false;
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
    this.socket.on("data", (d: Buffer) => this.onData(d));
    if (opts.preface !== false) this.socket.write(H2_PREFACE);
    if (opts.settings !== false) this.socket.write(frame(FRAME.SETTINGS, 0, 0));
  }

  write(...frames: Buffer[]): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** The GOAWAY the server sent, if any: its error code. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g?.payload.readUInt32BE(4);
  }

  /** Resolves when `test` holds of the frames so far, or the connection closed; false then if it does not hold. */
  async until(test: (frames: Frame[]) => boolean, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!test(this.frames)) {
      if (this.socket.destroyed || Date.now() > end) return test(this.frames);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = {
        type: this.buf[3]!,
        flags: this.buf[4]!,
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      };
      this.buf = this.buf.subarray(9 + len);
      if (this.ack && f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK))
        this.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      // Only what a test looks at is kept: DATA payloads would add up.
      if (f.type === FRAME.DATA) f.payload = Buffer.alloc(0);
      this.frames.push(f);
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
