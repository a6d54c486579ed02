import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import { create, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { CLIENT_KINDS, type ClientKind, callError } from "../helpers/clients.js";
import { envelope, frames } from "../helpers/raw.js";
import { EchoRequestSchema, EchoService, SumRequestSchema } from "../../gen/acme/echo/v1/echo_pb.js";
import { LINGER_MS } from "../../gateway/protocol/server-io.js";
import { defaultResilience } from "../../gateway/config/resilience.js";

// The gateway answers before the client has finished sending (a size limit,
// a bad frame, a deadline): the answer must arrive whole with its own code,
// then the rest of the request is dropped without error (RST_STREAM NO_ERROR
// on HTTP/2, Connection: close on HTTP/1.1), never a PROTOCOL_ERROR, and
// never by reading the rest. Each case runs RUNS times at once, next to
// ordinary calls that must all succeed.

const RUNS = 200;
// Per test: RUNS calls, with HTTP/1.1 connections lingering LINGER_MS after an early answer.
const TIMEOUT = 60_000;
const LIMIT = 16 * 1024;
const ECHO = "/acme.echo.v1.EchoService/Echo";
const SUM = "/acme.echo.v1.EchoService/Sum";
const echoBytes = (message: string) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message })));
const sumBytes = (value: bigint) => Buffer.from(toBinary(SumRequestSchema, create(SumRequestSchema, { value })));

let f: Fixture;
beforeAll(async () => {
  // One replica, and not what is tested here: it answers a burst of
  // upstream cancels with GOAWAY now and then (see the deadline case), which
  // must not eject it or open its breaker for the cases after.
  const d = defaultResilience();
  f = await startFixture({
    maxMessageBytes: LIMIT,
    // 200 calls at once on one HTTP/2 connection: at the default of 100 streams per
    // connection nghttp2 now and then ends it with "max concurrent streams exceeded"
    // as the client reuses a stream's place (README, limits); the early answer is what is tested.
    limits: { maxConcurrentStreams: 1000 },
    resilience: {
      circuitBreaker: { ...d.circuitBreaker, enabled: false },
      outlierDetection: { ...d.outlierDetection, enabled: false },
    },
  });
});
afterAll(() => f.close());

/** Ordinary calls over every client kind for as long as `body` runs; all must succeed. */
async function withTraffic<T>(body: () => Promise<T>): Promise<T> {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loops = CLIENT_KINDS.map(async (kind) => {
    const client = createClient(EchoService, kind.transport(f.url));
    while (!stop) {
      try {
        const r = await client.echo({ message: "other traffic" });
        if (r.message !== "other traffic") failures.push(`${kind.name}: echoed ${r.message}`);
        ok++;
      } catch (e) {
        failures.push(`${kind.name}: ${(e as Error).message}`);
      }
    }
  });
  try {
    return await body();
  } finally {
    stop = true;
    await Promise.all(loops);
    const unrelated = failures.filter(isReplicaGoaway);
    if (unrelated.length)
      console.warn(
        `other traffic: ${unrelated.length} call(s) lost to the demo replica's GOAWAY (see isReplicaGoaway)`,
      );
    expect(failures.filter((x) => !isReplicaGoaway(x))).toEqual([]);
    expect(ok).toBeGreaterThan(0);
  }
}

/**
 * Not what this file tests, and seen on the code before it too: under these
 * bursts of cancelled upstream streams (the deadline cases), a demo replica
 * (connect-node behind httpolyglot, whose HTTP/2 sockets go through a JS
 * stream wrapper) now and then ends its session with GOAWAY(INTERNAL_ERROR)
 * and a write EPIPE, failing the calls on it with UNAVAILABLE. Counted and
 * reported, not failed on; everything else must be exact.
 */
function isReplicaGoaway(outcome: string): boolean {
  return outcome.includes("upstream sent GOAWAY with HTTP/2 error code 2");
}

/** RUNS calls at once; returns how many ended with each code (or error text), and how long the batch took. */
async function batch(run: () => Promise<string>): Promise<{ counts: Record<string, number>; ms: number }> {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: RUNS }, () => run().catch((e: Error) => `threw: ${e.message}`)),
  );
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  return { counts, ms: performance.now() - t0 };
}

const codeName = (e: ConnectError) => Code[e.code];

describe("early status under load: connect-node clients", { timeout: TIMEOUT }, () => {
  for (const kind of CLIENT_KINDS) {
    it(`${kind.name}: a request over the size limit is RESOURCE_EXHAUSTED, ${RUNS} at once`, async () => {
      const client = createClient(EchoService, kind.transport(f.url));
      // Just over the limit, as the conformance suite's case: 200 calls' bodies
      // must fit in one connect-node HTTP/2 session's memory (10 MB by
      // default; past it the client itself refuses the response headers).
      const big = "x".repeat(LIMIT + 1024);
      const { counts, ms } = await withTraffic(() =>
        batch(async () => codeName(await callError(client.echo({ message: big })))),
      );
      expect(counts).toEqual({ ResourceExhausted: RUNS });
      expect(ms).toBeLessThan(15_000);
    });
  }

  // The deadline is the client's, sent as a header but not enforced by the
  // client itself: only the gateway's timer can end these calls.
  for (const kind of CLIENT_KINDS.filter(streamsRequests)) {
    it(`${kind.name}: a client stream still sending at its deadline gets DEADLINE_EXCEEDED, ${RUNS} at once`, async () => {
      const client = createClient(EchoService, kind.transport(f.url));
      const headers: Record<string, string> = kind.name.startsWith("connect")
        ? { "connect-timeout-ms": "300" }
        : { "grpc-timeout": "300m" };
      const { counts, ms } = await withTraffic(() =>
        batch(async () => {
          let release!: () => void;
          const held = new Promise<void>((r) => (release = r));
          async function* stalled() {
            yield { value: 1n };
            await held;
          }
          try {
            const e = await callError(client.sum(stalled(), { headers }));
            return isReplicaGoaway(e.message) ? "replica GOAWAY" : codeName(e);
          } finally {
            release();
          }
        }),
      );
      const lost = counts["replica GOAWAY"] ?? 0;
      if (lost) console.warn(`${lost} deadline call(s) lost to the demo replica's GOAWAY (see isReplicaGoaway)`);
      // The demo replica (node:http2 behind connect-node) answers a burst of
      // upstream cancels with GOAWAY: 52-105 of 200 in runs on Node 20 and 24,
      // so no share is asserted, only that it is not every call and that no
      // call ends any other way. A known upstream limit, noted on issue 11.
      expect(lost).toBeLessThan(RUNS);
      expect(counts).toEqual(
        lost ? { DeadlineExceeded: RUNS - lost, "replica GOAWAY": lost } : { DeadlineExceeded: RUNS },
      );
      expect(ms).toBeLessThan(15_000);
    });
  }
});

/** connect-node streams a request body over HTTP/1.1 for Connect and gRPC-Web, and over HTTP/2 for all. */
function streamsRequests(kind: ClientKind): boolean {
  return kind.name.includes("proto");
}

// --- raw clients, for what connect-node clients do not send ---

interface H2Outcome {
  status: string;
  body: Buffer;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  rstCode: number;
  /** Bytes of the request body the client managed to hand to its stream before it closed. */
  written: number;
}

/**
 * One HTTP/2 call that starts its body with `first`, then keeps sending
 * filler (up to `more` bytes) for as long as the stream lets it, or, with
 * `stopAtHeaders`, ends its side at the response headers, short of the
 * content-length it declared: what connect-go's unary calls do.
 */
function h2Call(
  session: http2.ClientHttp2Session,
  headers: Record<string, string | number>,
  first: Buffer,
  more: number,
  opts: { stopAtHeaders?: boolean } = {},
): Promise<H2Outcome> {
  return new Promise((resolve, reject) => {
    const h: http2.OutgoingHttpHeaders = { ":method": "POST", ...headers };
    if (opts.stopAtHeaders) h["content-length"] = first.length + more;
    const req = session.request(h);
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let written = first.length;
    let ended = false;
    const filler = Buffer.alloc(16 * 1024, 0);
    req.on("response", (hh) => {
      head = hh;
      if (opts.stopAtHeaders) req.end();
    });
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => (ended = true));
    req.on("error", () => {});
    req.on("close", () => {
      if (!ended) return reject(new Error(`stream closed before the response ended (rst ${req.rstCode})`));
      resolve({
        status: String(head[":status"]),
        body: Buffer.concat(chunks),
        headers: head,
        trailers,
        rstCode: req.rstCode ?? -1,
        written,
      });
    });
    req.write(first);
    if (opts.stopAtHeaders) {
      // A little more, then nothing until the response headers end the body.
      req.write(filler.subarray(0, 8192));
      written += 8192;
      return;
    }
    const pump = () => {
      while (!req.destroyed && !req.writableEnded && written < first.length + more) {
        written += filler.length;
        if (!req.write(filler)) return void req.once("drain", pump);
      }
    };
    if (more > 0) setImmediate(pump);
  });
}

interface H1Outcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  written: number;
  /** When the gateway closed the connection, from the moment the response ended. */
  closedAfterMs: number;
}

/**
 * One HTTP/1.1 request over a raw socket: headers with a content-length of
 * `first` + `more`, then `first`, then filler for as long as the socket takes
 * it. Resolves once the response is complete and the gateway closed the
 * connection.
 */
function h1Call(port: number, path: string, contentType: string, first: Buffer, more: number): Promise<H1Outcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let written = 0;
    let raw = Buffer.alloc(0);
    let doneAt = 0;
    socket.on("error", () => {});
    socket.on("connect", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${contentType}\r\ncontent-length: ${first.length + more}\r\n\r\n`,
      );
      socket.write(first);
      written = first.length;
      const filler = Buffer.alloc(64 * 1024, 0);
      const pump = () => {
        while (!socket.destroyed && socket.writable && written < first.length + more) {
          written += filler.length;
          if (!socket.write(filler)) return void socket.once("drain", pump);
        }
      };
      setImmediate(pump);
    });
    socket.on("data", (c: Buffer) => {
      raw = Buffer.concat([raw, c]);
      if (!doneAt && parseH1(raw)) doneAt = performance.now();
    });
    socket.on("close", () => {
      const r = parseH1(raw);
      if (!r)
        return reject(
          new Error(
            `connection closed before a whole response: ${JSON.stringify(raw.toString("latin1").slice(0, 300))}`,
          ),
        );
      resolve({ ...r, written, closedAfterMs: performance.now() - doneAt });
    });
  });
}

/** A whole HTTP/1.1 response (content-length or chunked), or undefined while incomplete. */
function parseH1(raw: Buffer): { status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers: http.IncomingHttpHeaders = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = raw.subarray(end + 4);
  if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    return rest.length >= n ? { status, headers, body: rest.subarray(0, n) } : undefined;
  }
  const parts: Buffer[] = [];
  for (;;) {
    const nl = rest.indexOf("\r\n");
    if (nl < 0) return undefined;
    const n = parseInt(rest.subarray(0, nl).toString("latin1"), 16);
    if (rest.length < nl + 2 + n + 2) return undefined;
    if (n === 0) return { status, headers, body: Buffer.concat(parts) };
    parts.push(rest.subarray(nl + 2, nl + 2 + n));
    rest = rest.subarray(nl + 2 + n + 2);
  }
}

/** The gRPC status of a gRPC or gRPC-Web response, or the code of a Connect one. */
function statusOf(
  contentType: string,
  r: { headers: http.IncomingHttpHeaders; body: Buffer; trailers?: http.IncomingHttpHeaders },
): string {
  if (contentType.startsWith("application/grpc-web")) {
    const t = frames(r.body).find((fr) => fr.flags & 0x80);
    return `grpc-status ${/grpc-status: ?(\d+)/.exec(t?.data.toString() ?? "")?.[1]}`;
  }
  if (contentType.startsWith("application/grpc"))
    return `grpc-status ${r.trailers?.["grpc-status"] ?? r.headers["grpc-status"]}`;
  if (contentType.startsWith("application/connect+")) {
    const end = frames(r.body).find((fr) => fr.flags & 2);
    return `connect ${JSON.parse(end?.data.toString() ?? "{}").error?.code}`;
  }
  return `connect ${JSON.parse(r.body.toString()).code}`;
}

/** Holds back every HTTP/2 stream's sendTrailers by `ms`; returns the undo. */
async function delaySendTrailers(ms: number): Promise<() => void> {
  // Http2Stream's prototype, from a stream of a throwaway server.
  const server = http2.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const proto = await new Promise<{ sendTrailers: (this: http2.Http2Stream, t: http2.OutgoingHttpHeaders) => void }>(
    (resolve) => {
      server.once("stream", (s) => {
        resolve(Object.getPrototypeOf(Object.getPrototypeOf(s)));
        s.respond({ ":status": 200 }, { endStream: true });
      });
      const c = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
      const r = c.request({ ":path": "/" });
      r.resume();
      r.on("close", () => c.close());
    },
  );
  server.close();
  const orig = proto.sendTrailers;
  proto.sendTrailers = function (t) {
    setTimeout(() => {
      if (!this.destroyed && !this.closed) orig.call(this, t);
    }, ms);
  };
  return () => void (proto.sendTrailers = orig);
}

const MiB = 1024 * 1024;
const HOSTILE = 50 * MiB;

// A bad frame the gateway sees before the body ends: a compressed message
// without an encoding (gRPC, gRPC-Web), an end-of-stream message in a
// request (Connect streaming). On a client stream, so the gateway reads it
// as it comes rather than waiting for the body's end.
const BAD_FRAME = [
  { ct: "application/grpc", h1: false, first: envelope(1, sumBytes(1n)), want: "grpc-status 13" },
  { ct: "application/grpc-web+proto", h1: true, first: envelope(1, sumBytes(1n)), want: "grpc-status 13" },
  {
    ct: "application/connect+proto",
    h1: true,
    first: envelope(2, Buffer.from("{}")),
    want: "connect invalid_argument",
  },
];

// A message over the limit, seen from its length prefix (or, for Connect
// unary, from the body's length) while the rest is still coming.
const OVER_LIMIT = [
  {
    ct: "application/grpc",
    h1: false,
    path: ECHO,
    first: envelope(0, echoBytes("x".repeat(4 * LIMIT))).subarray(0, 8192),
    want: "grpc-status 8",
  },
  {
    ct: "application/grpc-web+proto",
    h1: true,
    path: ECHO,
    first: envelope(0, echoBytes("x".repeat(4 * LIMIT))).subarray(0, 8192),
    want: "grpc-status 8",
  },
  {
    ct: "application/connect+proto",
    h1: true,
    path: SUM,
    first: envelope(0, sumBytes(1n)),
    over: true,
    want: "connect resource_exhausted",
  },
  {
    ct: "application/proto",
    h1: true,
    path: ECHO,
    first: echoBytes("x".repeat(2 * LIMIT)),
    want: "connect resource_exhausted",
  },
];

describe("early status under load: raw HTTP/2", { timeout: TIMEOUT }, () => {
  let session: http2.ClientHttp2Session;
  beforeAll(() => {
    // A client that buffers what it sends needs room for RUNS calls' worth.
    session = http2.connect(f.url, { maxSessionMemory: 1000 });
    session.on("error", () => {});
  });
  afterAll(() => void session.close());

  // connect-go stops a unary request's body when the response headers
  // arrive and ends its side short of its content-length. nghttp2 answers
  // that with RST_STREAM(PROTOCOL_ERROR); the gateway must have sent its
  // whole answer, END_STREAM included, by then (conformance failure of
  // issue 11: "stream error: stream ID 497; PROTOCOL_ERROR").
  for (const c of OVER_LIMIT.filter((x) => x.path === ECHO)) {
    it(`${c.ct}: over the limit, client stopping at the response headers like connect-go: ${c.want}, ${RUNS} at once`, async () => {
      const { counts, ms } = await withTraffic(() =>
        batch(async () => {
          const r = await h2Call(
            session,
            { ":path": c.path, "content-type": c.ct, te: "trailers" },
            c.first,
            64 * LIMIT,
            { stopAtHeaders: true },
          );
          return statusOf(c.ct, r);
        }),
      );
      expect(counts).toEqual({ [c.want]: RUNS });
      expect(ms).toBeLessThan(15_000);
    });
  }

  // The same with the event loop's lag made certain: every sendTrailers
  // (how Node sends END_STREAM after a response that asked for trailers)
  // held back 20 ms. Before the fix the gRPC-Web and Connect cases failed
  // here with RST_STREAM(PROTOCOL_ERROR); the gRPC one (trailers-only, one
  // HEADERS frame) never did.
  describe("with sendTrailers held back 20 ms", () => {
    let restore: () => void;
    beforeAll(async () => {
      restore = await delaySendTrailers(20);
    });
    afterAll(() => restore());
    for (const c of OVER_LIMIT.filter((x) => x.path === ECHO)) {
      it(`${c.ct}: over the limit, client stopping at the response headers: ${c.want}, ${RUNS} at once`, async () => {
        const { counts } = await batch(async () => {
          const r = await h2Call(
            session,
            { ":path": c.path, "content-type": c.ct, te: "trailers" },
            c.first,
            64 * LIMIT,
            { stopAtHeaders: true },
          );
          return statusOf(c.ct, r);
        });
        expect(counts).toEqual({ [c.want]: RUNS });
      });
    }
  });

  for (const [what, cases] of [
    ["over the limit", OVER_LIMIT],
    ["a bad frame", BAD_FRAME.map((b) => ({ ...b, path: SUM }))],
  ] as const) {
    for (const c of cases) {
      it(`${c.ct}: ${what} with the body still coming: ${c.want}, then RST_STREAM NO_ERROR, ${RUNS} at once`, async () => {
        const first = "over" in c && c.over ? envelope(0, Buffer.alloc(2 * LIMIT)).subarray(0, 8192) : c.first;
        const { counts, ms } = await withTraffic(() =>
          batch(async () => {
            const r = await h2Call(session, { ":path": c.path, "content-type": c.ct, te: "trailers" }, first, 4 * MiB);
            // Reset, not read to its end: at most the stream's window (1 MiB) and what was in flight.
            return `${statusOf(c.ct, r)} rst ${r.rstCode} ${r.written < 4 * MiB ? "cut short" : "read whole"}`;
          }),
        );
        expect(counts).toEqual({ [`${c.want} rst 0 cut short`]: RUNS });
        expect(ms).toBeLessThan(15_000);
      });
    }
  }

  it(`a hostile ${HOSTILE / MiB} MiB body after an early error is not read`, async () => {
    const t0 = performance.now();
    const r = await h2Call(
      session,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers" },
      OVER_LIMIT[0].first,
      HOSTILE,
    );
    expect(statusOf("application/grpc", r)).toBe("grpc-status 8");
    expect(r.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(r.written).toBeLessThan(4 * MiB);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("early status under load: raw HTTP/1.1", { timeout: TIMEOUT }, () => {
  for (const [what, cases] of [
    ["over the limit", OVER_LIMIT],
    ["a bad frame", BAD_FRAME.map((b) => ({ ...b, path: SUM }))],
  ] as const) {
    for (const c of cases.filter((x) => x.h1)) {
      it(`${c.ct}: ${what} with the body still coming: ${c.want}, Connection: close, ${RUNS} at once`, async () => {
        const first = "over" in c && c.over ? envelope(0, Buffer.alloc(2 * LIMIT)).subarray(0, 8192) : c.first;
        const { counts, ms } = await withTraffic(() =>
          batch(async () => {
            const r = await h1Call(f.port, c.path, c.ct, first, 256 * 1024);
            const closed =
              r.closedAfterMs < LINGER_MS + 1000 ? "closed" : `closed late (${Math.round(r.closedAfterMs)} ms)`;
            return `${statusOf(c.ct, r)} connection ${r.headers.connection} ${closed}`;
          }),
        );
        expect(counts).toEqual({ [`${c.want} connection close closed`]: RUNS });
        expect(ms).toBeLessThan(15_000);
      });
    }
  }

  it(`a hostile ${HOSTILE / MiB} MiB body after an early error is not read`, async () => {
    const t0 = performance.now();
    const r = await h1Call(f.port, ECHO, "application/grpc-web+proto", OVER_LIMIT[1].first, HOSTILE);
    expect(statusOf("application/grpc-web+proto", r)).toBe("grpc-status 8");
    expect(r.headers.connection).toBe("close");
    // What the socket buffers on both ends took, not the body.
    expect(r.written).toBeLessThan(HOSTILE / 2);
    expect(performance.now() - t0).toBeLessThan(LINGER_MS + 2000);
  });
});
