/**
 * What a response sink writes to, recorded: the parts of node's HTTP/1.1 and
 * HTTP/2 responses the sinks use. `withStream` adds an HTTP/2 stream whose
 * respond() the gRPC sink uses for trailers-only answers.
 */
export class FakeResponse {
  status: number | undefined;
  /** Headers as written, with ":status" and any set before with setHeader. */
  head: Record<string, unknown> | undefined;
  writeHeads = 0;
  readonly body: Uint8Array[] = [];
  trailers: Record<string, unknown> | undefined;
  responded: Array<{ headers: Record<string, unknown>; endStream: boolean }> = [];
  ends = 0;
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  writableCorked = 0;
  private readonly preset: Record<string, unknown> = {};
  stream: { destroyed: boolean; respond(h: Record<string, unknown>, o: { endStream: boolean }): void } | undefined;

  constructor(withStream = false) {
    this.stream = withStream
      ? { destroyed: false, respond: (headers, o) => this.responded.push({ headers, endStream: o.endStream }) }
      : undefined;
  }

  get statusCode(): number | undefined {
    return this.status;
  }

  setHeader(k: string, v: unknown) {
    this.preset[k] = v;
  }

  getHeaders() {
    return { ...this.preset };
  }

  writeHead(status: number, headers: Record<string, unknown>) {
    this.writeHeads++;
    this.status = status;
    this.head = { ...this.preset, ":status": status, ...headers };
    this.headersSent = true;
    return this;
  }

  write(chunk: Uint8Array) {
    if (!this.headersSent) this.writeHead(200, {});
    this.body.push(chunk);
    return true;
  }

  end(chunk?: Uint8Array | string) {
    if (chunk !== undefined && chunk.length > 0) this.body.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    this.ends++;
    this.writableEnded = true;
  }

  addTrailers(t: Record<string, unknown>) {
    this.trailers = t;
  }

  cork() {}
  uncork() {}

  on() {
    return this;
  }

  off() {
    return this;
  }
}
