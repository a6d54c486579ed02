import http from "node:http";
import http2 from "node:http2";
import type { FuzzCase } from "./cases.js";
import type { Answer } from "./oracle.js";

/** Bodies are kept up to this much: a long stream is read to its end but not held. */
const KEEP_BYTES = 1 << 20;
/** Every case ends within this (the gateway's own deadlines are shorter). */
const CASE_TIMEOUT_MS = 10_000;

/** Sends fuzz cases over HTTP/1.1 (a connection each) or HTTP/2 (one session, replaced when it goes). */
export class FuzzClient {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly url: string) {}

  send(c: FuzzCase): Promise<Answer> {
    return c.http === "2" ? this.h2(c) : this.h1(c);
  }

  close(): void {
    this.session?.destroy();
  }

  private h2Session(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(this.url);
      this.session.on("error", () => {});
    }
    return this.session;
  }

  private h2(c: FuzzCase): Promise<Answer> {
    return new Promise((resolve) => {
      const answer: Answer = { status: undefined, headers: {}, trailers: {}, body: Buffer.alloc(0) };
      const chunks: Buffer[] = [];
      let kept = 0;
      let req: http2.ClientHttp2Stream;
      try {
        // endStream spelled out: Node's client would end a DELETE's stream before its body.
        req = this.h2Session().request(
          { ":method": c.method, ":path": c.path, ...c.headers },
          { endStream: noBody(c) },
        );
      } catch (err) {
        // The client refused to send it (a header value it will not encode): not the gateway's answer.
        resolve({ ...answer, status: -1, error: (err as Error).message });
        return;
      }
      const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), CASE_TIMEOUT_MS);
      req.on("response", (h) => {
        answer.status = Number(h[":status"]);
        answer.headers = h as Answer["headers"];
      });
      req.on("trailers", (t) => (answer.trailers = t as Answer["trailers"]));
      req.on("data", (d: Buffer) => {
        if (kept < KEEP_BYTES) chunks.push(d);
        kept += d.length;
      });
      req.on("error", (e) => (answer.error = e.message));
      req.on("close", () => {
        clearTimeout(timer);
        answer.body = Buffer.concat(chunks);
        if (answer.status === undefined) answer.error ??= `stream closed, RST_STREAM ${req.rstCode}`;
        resolve(answer);
      });
      if (!noBody(c)) req.end(c.body);
    });
  }

  private h1(c: FuzzCase): Promise<Answer> {
    return new Promise((resolve) => {
      const answer: Answer = { status: undefined, headers: {}, trailers: {}, body: Buffer.alloc(0) };
      const chunks: Buffer[] = [];
      let kept = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        answer.body = Buffer.concat(chunks);
        resolve(answer);
      };
      let req: http.ClientRequest;
      try {
        req = http.request(`${this.url}${c.path}`, { method: c.method, headers: c.headers, agent: false }, (res) => {
          answer.status = res.statusCode;
          answer.headers = res.headers;
          res.on("data", (d: Buffer) => {
            if (kept < KEEP_BYTES) chunks.push(d);
            kept += d.length;
          });
          res.on("end", () => {
            answer.trailers = res.trailers;
            finish();
          });
          res.on("error", () => finish());
          res.on("close", () => finish());
        });
      } catch (err) {
        resolve({ ...answer, status: -1, error: (err as Error).message });
        return;
      }
      const timer = setTimeout(() => req.destroy(new Error("case timed out")), CASE_TIMEOUT_MS);
      req.on("error", (e) => {
        answer.error = e.message;
        finish();
      });
      if (noBody(c)) req.end();
      else req.end(c.body);
    });
  }
}

const noBody = (c: FuzzCase) => c.method === "GET" || c.method === "OPTIONS";
