// Runs in Chromium (bundled by ../page-server.ts). Every call goes through the
// browser's own fetch() to a gateway on another origin, so what these
// functions can read back is exactly what CORS lets a web app see.
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { EchoResponseSchema, EchoService } from "../../../gen/acme/echo/v1/echo_pb.js";

/** fetch() that sends cookies to other origins too, as an app behind a login does. */
const withCredentials: typeof fetch = (input, init) => fetch(input, { ...init, credentials: "include" });

/** The connect-web transports a browser app can pick, named protocol-codec[-get][-credentials]. */
export const TRANSPORTS = {
  "connect-json": (baseUrl: string) => createConnectTransport({ baseUrl }),
  "connect-proto": (baseUrl: string) => createConnectTransport({ baseUrl, useBinaryFormat: true }),
  // Unary calls to NO_SIDE_EFFECTS methods (Echo) as GET: with no custom
  // header that is a CORS "simple" request, sent without a preflight.
  "connect-json-get": (baseUrl: string) => createConnectTransport({ baseUrl, useHttpGet: true }),
  "grpc-web-proto": (baseUrl: string) => createGrpcWebTransport({ baseUrl }),
  "grpc-web-json": (baseUrl: string) => createGrpcWebTransport({ baseUrl, useBinaryFormat: false }),
  // credentials: "include" (cookies go along, and the answer must allow them).
  "connect-json-credentials": (baseUrl: string) => createConnectTransport({ baseUrl, fetch: withCredentials }),
  "connect-json-get-credentials": (baseUrl: string) =>
    createConnectTransport({ baseUrl, useHttpGet: true, fetch: withCredentials }),
} satisfies Record<string, (baseUrl: string) => Transport>;

export type TransportName = keyof typeof TRANSPORTS;

/** What a failed call let the page see; plain data so it survives page.evaluate. */
export interface ErrorSeen {
  code: string;
  rawMessage: string;
  details: { message: string; replica: string }[];
  metadata: Record<string, string>;
  elapsedMs: number;
}

function client(transport: TransportName, baseUrl: string): Client<typeof EchoService> {
  return createClient(EchoService, TRANSPORTS[transport](baseUrl));
}

function plain(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k] = v));
  return out;
}

async function failure(call: () => Promise<unknown>): Promise<ErrorSeen> {
  const started = performance.now();
  try {
    await call();
  } catch (e) {
    const err = ConnectError.from(e);
    return {
      // The name rather than the number keeps test failures readable.
      code: Code[err.code],
      rawMessage: err.rawMessage,
      details: err.findDetails(EchoResponseSchema).map((d) => ({ message: d.message, replica: d.replica })),
      metadata: plain(err.metadata),
      elapsedMs: Math.round(performance.now() - started),
    };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export function connectWebScenarios(transport: TransportName, baseUrl: string) {
  const echo = client(transport, baseUrl);
  return {
    async unary() {
      const res = await echo.echo({ message: `hello from ${transport}` });
      return { message: res.message, replica: res.replica };
    },

    async serverStream() {
      const got: { n: number; replica: string }[] = [];
      for await (const r of echo.count({ count: 3, intervalMs: 20 })) got.push({ n: r.n, replica: r.replica });
      return got;
    },

    /**
     * x-echo-trailer is a custom request header (so the browser must send a
     * preflight that allows it); the replica answers with header
     * x-echo-header and trailer x-echo-trailer, which the page can only read
     * when the gateway lists them in Access-Control-Expose-Headers.
     */
    async metadata() {
      const unary: Record<string, string | null> = {};
      await echo.echo(
        { message: "md" },
        {
          headers: { "x-echo-trailer": "unary-v" },
          onHeader: (h) => (unary.header = h.get("x-echo-header")),
          onTrailer: (t) => (unary.trailer = t.get("x-echo-trailer")),
        },
      );
      const stream: Record<string, string | null> = {};
      let messages = 0;
      const it = echo.count(
        { count: 2, intervalMs: 10 },
        {
          headers: { "x-echo-trailer": "stream-v" },
          onHeader: (h) => (stream.header = h.get("x-echo-header")),
          onTrailer: (t) => (stream.trailer = t.get("x-echo-trailer")),
        },
      );
      for await (const _ of it) messages++;
      return { unary, stream, messages };
    },

    /** An error response must carry CORS headers too, or fetch() sees only a network error. */
    async error() {
      return failure(() =>
        echo.echo({ message: "fail" }, { headers: { "x-echo-fail": "not_found", "x-echo-trailer": "on-error" } }),
      );
    },

    async streamError() {
      return failure(async () => {
        for await (const _ of echo.count({ count: 2 }, { headers: { "x-echo-fail": "not_found" } })) {
          // no messages expected
        }
      });
    },

    /** A plain call that is expected to fail (e.g. refused by CORS before it is sent). */
    async refused() {
      return failure(() => echo.echo({ message: "refused?" }));
    },

    /** Run while the replica hangs: only the deadline can end the call. */
    async deadline(timeoutMs: number) {
      return failure(() => echo.echo({ message: "too slow" }, { timeoutMs }));
    },
  };
}

export type ConnectWebScenarios = ReturnType<typeof connectWebScenarios>;
