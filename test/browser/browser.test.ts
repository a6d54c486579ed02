// Real browser clients through the gateway: Debian's Chromium (driven by
// playwright-core) loads a page from one origin and calls the gateway on
// another, with connect-web (Connect and gRPC-Web transports) and Google's
// grpc-web runtime in text mode. The page does the calls (./page/); this file
// asserts what the page could read and, through DevTools, what went over the
// wire, preflights included.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import type { Gateway } from "../../gateway/server.js";
import { launchChromium } from "./chromium.js";
import { startPageServer, type PageServer } from "./page-server.js";
import { Wire, askedHeaders, split, type Exchange } from "./wire.js";
import { gatewayWithOrigins } from "./cors-gateway.js";
import { startRecordingProxy } from "../helpers/recording-proxy.js";
import type { ConnectWebScenarios, TransportName } from "./page/connect-web.js";
import type { GrpcWebTextScenarios } from "./page/grpc-web-text.js";

let fixture: Fixture;
let pages: PageServer;
let browser: Browser | undefined;
let page: Page;
let wire: Wire;
const pageErrors: string[] = [];
let setupError: unknown;

beforeAll(async () => {
  try {
    // Chromium first: when it is missing, say so before anything else starts.
    browser = await launchChromium();
    [fixture, pages] = await Promise.all([startFixture(), startPageServer()]);
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    wire = await Wire.attach(page);
    await page.goto(`${pages.origin}/?gateway=${encodeURIComponent(fixture.url)}`);
    await page
      .waitForFunction(() => window.switchyard !== undefined, undefined, { timeout: 10_000 })
      .catch((e: Error) => {
        throw new Error(`the test page did not start: ${pageErrors.join("; ") || e.message}`);
      });
    expect(new URL(pages.origin).origin).not.toBe(new URL(fixture.url).origin);
  } catch (err) {
    setupError = err;
  }
}, 60_000);

// A setup failure (above all a missing Chromium) fails every test with its
// message. Thrown from beforeAll it would fail the file but leave the tests
// counted as skipped, and the suite must never look skipped.
beforeEach(() => {
  if (setupError) throw setupError;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([fixture?.close(), pages?.close()]);
});

type Result<F> = F extends (...args: never[]) => Promise<infer R> ? R : never;

/** Runs one connect-web scenario in the page; returns its result and the exchanges it caused. */
function connectWeb<K extends keyof ConnectWebScenarios>(
  transport: TransportName,
  name: K,
  arg?: number,
  baseUrl?: string,
) {
  return wire.during(baseUrl ?? fixture.url, () =>
    page.evaluate(
      ([t, n, a, b]) =>
        (window.switchyard!.connectWeb(t, b ?? undefined)[n] as (x?: number) => Promise<unknown>)(a ?? undefined),
      [transport, name, arg ?? null, baseUrl ?? null] as const,
    ),
  ) as Promise<{ result: Result<ConnectWebScenarios[K]>; exchanges: Exchange[] }>;
}

function grpcWebText<K extends keyof GrpcWebTextScenarios>(name: K) {
  return wire.during(fixture.url, () =>
    page.evaluate((n) => (window.switchyard!.grpcWebText()[n] as () => Promise<unknown>)(), name),
  ) as Promise<{ result: Result<GrpcWebTextScenarios[K]>; exchanges: Exchange[] }>;
}

/** The actual call (not the preflight) was answered with `status` and the CORS header a page needs to read it. */
function expectCorsResponse(exchanges: Exchange[], status: number, method = "POST"): Exchange {
  const { calls } = split(exchanges);
  expect(calls.map((c) => [c.method, c.status])).toEqual([[method, status]]);
  expect(calls[0].responseHeaders["access-control-allow-origin"]).toBe(pages.origin);
  // Which headers are exposed is checked by behaviour instead: the page
  // reading them (the metadata and error tests), whatever list achieves it.
  return calls[0];
}

/** Chromium sent a preflight asking for `headers`, and the gateway allowed them for this origin. */
function expectPreflight(exchanges: Exchange[], headers: string[]): void {
  const { preflights } = split(exchanges);
  expect(preflights.length, "preflights sent").toBeGreaterThan(0);
  const pf = preflights[0];
  expect(askedHeaders(pf)).toEqual(expect.arrayContaining(headers));
  expect(pf.status).toBe(204);
  expect(pf.responseHeaders["access-control-allow-origin"]).toBe(pages.origin);
  const allowed = (pf.responseHeaders["access-control-allow-headers"] ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase());
  expect(allowed).toEqual(expect.arrayContaining(headers));
  expect(pf.responseHeaders["access-control-allow-methods"]).toContain("POST");
}

interface TransportCase {
  transport: TransportName;
  /** Request content type of a unary call (undefined: a GET has no body). */
  contentType: string | undefined;
  streamType: string;
  /** HTTP status of a failed unary call: Connect maps the code, gRPC-Web always says 200. */
  errorStatus: number;
  unaryMethod?: string;
}

const CONNECT_WEB: TransportCase[] = [
  {
    transport: "connect-json",
    contentType: "application/json",
    streamType: "application/connect+json",
    errorStatus: 404,
  },
  {
    transport: "connect-json-get",
    contentType: undefined,
    streamType: "application/connect+json",
    errorStatus: 404,
    unaryMethod: "GET",
  },
  {
    transport: "connect-proto",
    contentType: "application/proto",
    streamType: "application/connect+proto",
    errorStatus: 404,
  },
  {
    transport: "grpc-web-proto",
    contentType: "application/grpc-web+proto",
    streamType: "application/grpc-web+proto",
    errorStatus: 200,
  },
  {
    transport: "grpc-web-json",
    contentType: "application/grpc-web+json",
    streamType: "application/grpc-web+json",
    errorStatus: 200,
  },
];

describe.each(CONNECT_WEB)(
  "connect-web $transport, cross-origin",
  ({ transport, contentType, streamType, errorStatus, unaryMethod }) => {
    it("unary Echo", async () => {
      const { result, exchanges } = await connectWeb(transport, "unary");
      expect(result).toEqual({ message: `hello from ${transport}`, replica: "r1" });
      const call = expectCorsResponse(exchanges, 200, unaryMethod);
      // A GET carries nothing that needs permission: no preflight at all.
      if (unaryMethod === "GET") expect(split(exchanges).preflights).toEqual([]);
      // (Origin is added below DevTools' view of the request; the gateway
      // echoing it in access-control-allow-origin shows it was sent.)
      expect(call.requestHeaders["content-type"]).toBe(contentType);
    });

    it("server-streaming Count", async () => {
      const { result, exchanges } = await connectWeb(transport, "serverStream");
      expect(result).toEqual([1, 2, 3].map((n) => ({ n, replica: "r1" })));
      expect(expectCorsResponse(exchanges, 200).responseHeaders["content-type"]).toBe(streamType);
    });

    it("a custom request header passes the preflight; response headers and trailers are readable", async () => {
      const { result, exchanges } = await connectWeb(transport, "metadata");
      // The replica mirrors x-echo-trailer into both: they prove the request
      // header got through, and that expose-headers let the page read them.
      expect(result).toEqual({
        unary: { header: "unary-v", trailer: "unary-v" },
        stream: { header: "stream-v", trailer: "stream-v" },
        messages: 2,
      });
      expectPreflight(exchanges, ["x-echo-trailer"]);
    });

    it("an error keeps its code, message and EchoResponse detail, and its response is readable", async () => {
      const { result, exchanges } = await connectWeb(transport, "error");
      expect(result).toMatchObject({
        code: "NotFound",
        rawMessage: "requested failure",
        details: [{ message: "detail", replica: "r1" }],
      });
      // Headers on an error response are still only readable through expose-headers.
      expect(result.metadata).toMatchObject({ "x-echo-header": "on-error", "x-echo-trailer": "on-error" });
      expectPreflight(exchanges, ["x-echo-fail"]);
      expectCorsResponse(exchanges, errorStatus, unaryMethod);
    });

    it("an error on a server stream keeps its code, message and detail", async () => {
      const { result, exchanges } = await connectWeb(transport, "streamError");
      expect(result).toMatchObject({
        code: "NotFound",
        rawMessage: "requested failure",
        details: [{ message: "detail", replica: "r1" }],
      });
      expectCorsResponse(exchanges, 200);
    });

    it("a deadline against a hanging replica ends in DeadlineExceeded", async () => {
      // A fixture of its own: a hanging replica also hangs its health checks,
      // and two failed probes in a row would mark the shared fixture's only
      // endpoint unhealthy for the tests that follow.
      const hanging = await startFixture();
      hanging.replicas[0].faults.hang = true;
      try {
        const { result } = await connectWeb(transport, "deadline", 500, hanging.url);
        expect(result.code).toBe("DeadlineExceeded");
        // The gateway answers 20 ms before the client's own timer, but the
        // client's clock also covers the preflight, so either may win a race
        // on a busy machine; both are DeadlineExceeded.
        expect(["deadline of 500 ms exceeded (gateway)", "the operation timed out"]).toContain(result.rawMessage);
        expect(result.elapsedMs).toBeGreaterThanOrEqual(450);
        expect(result.elapsedMs).toBeLessThan(5000);
        // Whoever gave up first, the gateway must not keep the call open.
        await vi.waitFor(() => expect(hanging.gateway.inflight.size).toBe(0), { timeout: 3000 });
      } finally {
        hanging.replicas[0].faults.hang = false;
        await hanging.close();
      }
    });
  },
);

describe("Google grpc-web, text mode (application/grpc-web-text), cross-origin", () => {
  it("unary Echo", async () => {
    const { result, exchanges } = await grpcWebText("unary");
    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.messages).toEqual([{ message: "hello from grpc-web text", replica: "r1" }]);
    expect(result.status).toMatchObject({ code: 0 });
    // grpc-web's own headers are not CORS-safelisted: the preflight must allow them.
    expectPreflight(exchanges, ["x-grpc-web", "x-user-agent"]);
    const call = expectCorsResponse(exchanges, 200);
    expect(call.requestHeaders["content-type"]).toBe("application/grpc-web-text");
    expect(call.responseHeaders["content-type"]).toMatch(/^application\/grpc-web-text/);
  });

  it("server-streaming Count, with response metadata and trailers", async () => {
    const { result, exchanges } = await grpcWebText("serverStream");
    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.messages).toEqual([1, 2, 3].map((n) => ({ n, replica: "r1" })));
    expect(result.headers["x-echo-header"]).toBe("stream-v");
    expect(result.status).toMatchObject({ code: 0, metadata: { "x-echo-trailer": "stream-v" } });
    expectCorsResponse(exchanges, 200);
  });

  it("request metadata reaches the replica; response metadata and trailers come back", async () => {
    const { result, exchanges } = await grpcWebText("metadata");
    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.messages).toEqual([{ message: "md", replica: "r1" }]);
    // XHR's getAllResponseHeaders() hides everything not exposed by CORS.
    expect(result.headers["x-echo-header"]).toBe("text-v");
    expect(result.status).toMatchObject({ code: 0, metadata: { "x-echo-trailer": "text-v" } });
    expectPreflight(exchanges, ["x-echo-trailer"]);
  });

  it("an error status: code 5, its message and the detail in grpc-status-details-bin", async () => {
    const { result, exchanges } = await grpcWebText("error");
    expect(result.messages).toEqual([]);
    expect(result.error).toMatchObject({
      code: 5,
      message: "requested failure",
      details: [{ message: "detail", replica: "r1" }],
    });
    expect(result.status).toMatchObject({ code: 5, details: "requested failure" });
    expectCorsResponse(exchanges, 200);
  });
});

describe("cors.allowedOrigins with a real allow-list", () => {
  let allowed: { gateway: Gateway; url: string };
  let other: { gateway: Gateway; url: string };

  beforeAll(async () => {
    if (setupError) return; // reported by every test already
    [allowed, other] = await Promise.all([
      gatewayWithOrigins(fixture.replicas[0], [pages.origin]),
      gatewayWithOrigins(fixture.replicas[0], ["http://app.example.test"]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([allowed?.gateway.close(), other?.gateway.close()]);
  });

  it("a listed origin is let through and gets its own origin back, not *", async () => {
    const { result, exchanges } = await connectWeb("connect-json", "metadata", undefined, allowed.url);
    expect(result.unary).toEqual({ header: "unary-v", trailer: "unary-v" });
    expectPreflight(exchanges, ["x-echo-trailer"]);
  });

  it("an unlisted origin is refused at the preflight and the call never leaves the browser", async () => {
    const { result, exchanges } = await connectWeb("connect-json", "refused", undefined, other.url);
    // fetch() rejects without a response; connect-web has nothing to read.
    expect(result.code).not.toBe("OK");
    expect(result.rawMessage).toMatch(/fetch/i);
    const { preflights, calls } = split(exchanges);
    expect(preflights.map((p) => p.status)).toEqual([403]);
    expect(preflights[0].responseHeaders["access-control-allow-origin"]).toBeUndefined();
    expect(calls.every((c) => c.status === undefined)).toBe(true);
  });
});

describe("cors.allowCredentials: a page that sends its cookies", () => {
  // Both gateways allow the page's origin; only one allows credentials. A
  // recording hop in front of the replica shows what reached the upstream.
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let credentials: { gateway: Gateway; url: string };
  let plain: { gateway: Gateway; url: string };
  const cookieUpstream = () => proxy.seen.at(-1)?.headers.cookie;

  beforeAll(async () => {
    if (setupError) return;
    proxy = await startRecordingProxy(fixture.replicas[0].address);
    [credentials, plain] = await Promise.all([
      gatewayWithOrigins(proxy, [pages.origin], true),
      gatewayWithOrigins(proxy, [pages.origin], false),
    ]);
    // A cookie of the gateway's origin, as its login would have set it.
    // Cookies are per host, not port: the page (another port, so another
    // origin, but the same site) sends it only with credentials: "include".
    await page.context().addCookies([{ name: "session", value: "s3cr3t", url: credentials.url }]);
  });
  afterAll(async () => {
    await page?.context().clearCookies();
    await Promise.all([credentials?.gateway.close(), plain?.gateway.close()]);
    await proxy?.close();
  });

  it("with allowCredentials the call succeeds, its cookie reaches the upstream, and every answer allows credentials", async () => {
    const { result, exchanges } = await connectWeb("connect-json-credentials", "unary", undefined, credentials.url);
    expect(result).toEqual({ message: "hello from connect-json-credentials", replica: "r1" });
    expect(cookieUpstream()).toBe("session=s3cr3t");
    const { preflights } = split(exchanges);
    expect(preflights.map((p) => p.status)).toEqual([204]);
    expect(preflights[0].responseHeaders).toMatchObject({
      "access-control-allow-origin": pages.origin,
      "access-control-allow-credentials": "true",
    });
    const call = expectCorsResponse(exchanges, 200);
    expect(call.responseHeaders).toMatchObject({ "access-control-allow-credentials": "true", vary: "Origin" });
  });

  it("an error response allows credentials too, so the page reads the error", async () => {
    const { result, exchanges } = await connectWeb("connect-json-credentials", "error", undefined, credentials.url);
    expect(result).toMatchObject({
      code: "NotFound",
      rawMessage: "requested failure",
      details: [{ message: "detail", replica: "r1" }],
    });
    expect(expectCorsResponse(exchanges, 404).responseHeaders["access-control-allow-credentials"]).toBe("true");
    // With credentials the "*" in Access-Control-Expose-Headers does not
    // count: custom response metadata in headers stays hidden (README, CORS).
    expect(result.metadata["x-echo-header"]).toBeUndefined();
  });

  it("without allowCredentials the browser refuses the preflight and the call never leaves", async () => {
    const before = proxy.seen.length;
    const { result, exchanges } = await connectWeb("connect-json-credentials", "refused", undefined, plain.url);
    expect(result.rawMessage).toMatch(/fetch/i);
    const { preflights, calls } = split(exchanges);
    expect(preflights.map((p) => [p.status, p.responseHeaders["access-control-allow-credentials"]])).toEqual([
      [204, undefined],
    ]);
    expect(calls.map((c) => [c.status, c.corsError])).toEqual([[undefined, "PreflightInvalidAllowCredentials"]]);
    expect(proxy.seen.length).toBe(before);
  });

  it("without allowCredentials a call with no preflight is answered, but the browser hides the answer", async () => {
    const before = proxy.seen.length;
    const { result, exchanges } = await connectWeb("connect-json-get-credentials", "refused", undefined, plain.url);
    expect(result.rawMessage).toMatch(/fetch/i);
    const { preflights, calls } = split(exchanges);
    expect(preflights).toEqual([]);
    // The GET went out with the cookie and the upstream answered it...
    expect(proxy.seen.slice(before).map((r) => [r.headers[":path"], r.headers.cookie])).toEqual([
      ["/acme.echo.v1.EchoService/Echo", "session=s3cr3t"],
    ]);
    // ...but the answer did not allow credentials, so the page never saw it.
    expect(calls.map((c) => [c.method, c.corsError])).toEqual([["GET", "InvalidAllowCredentials"]]);
  });
});

it("the page raised no uncaught errors", () => {
  expect(pageErrors).toEqual([]);
});
