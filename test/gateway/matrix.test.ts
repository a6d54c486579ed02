import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { CLIENT_KINDS, callError, echoClient, values } from "../helpers/clients.js";
import { EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";

// Every inbound protocol/codec/HTTP version against every outbound protocol:
// the gateway's translation is two adapters, and this proves each pair.
const UPSTREAMS = [
  { name: "grpc", opts: { protocol: "grpc" as const } },
  { name: "connect h2", opts: { protocol: "connect" as const } },
  { name: "connect h1", opts: { protocol: "connect" as const, http: "1.1" as const } },
  { name: "grpc-web h2", opts: { protocol: "grpc-web" as const } },
  {
    name: "grpc-web h1, json upstream",
    opts: { protocol: "grpc-web" as const, http: "1.1" as const, codec: "json" as const },
  },
  { name: "grpc, codec same", opts: { protocol: "grpc" as const, codec: "same" as const } },
];

describe.each(UPSTREAMS)("upstream $name", ({ opts }) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture(opts);
  });
  afterAll(() => f.close());

  describe.each(CLIENT_KINDS)("client $name", (kind) => {
    it("unary Echo", async () => {
      const res = await echoClient(kind, f.url).echo({ message: "hello ünïcode" });
      expect(res.message).toBe("hello ünïcode");
      expect(res.replica).toBe("r1");
    });

    it("server streaming Count", async () => {
      const ns: number[] = [];
      for await (const m of echoClient(kind, f.url).count({ count: 5 })) ns.push(m.n);
      expect(ns).toEqual([1, 2, 3, 4, 5]);
    });

    it("client streaming Sum", async () => {
      const res = await echoClient(kind, f.url).sum(values({ value: 40n }, { value: 2n }, { value: -1n }));
      expect(res.total).toBe(41n);
    });

    // Over HTTP/1.1 a bidi call is half-duplex: the whole request, then the
    // whole response. A cluster with http: "1.1" refuses bidi.
    it("bidi Chat", async () => {
      const chat = () => echoClient(kind, f.url).chat(values({ message: "a" }, { message: "b" }, { message: "c" }));
      if (opts.http === "1.1") {
        const err = await callError(async () => {
          for await (const _ of chat());
        });
        expect(err.code).toBe(Code.Unimplemented);
        expect(err.rawMessage).toContain("HTTP/1.1 upstream");
        return;
      }
      const out: string[] = [];
      for await (const m of chat()) out.push(m.message);
      expect(out).toEqual(["a", "b", "c"]);
    });

    it("error code, message and details", async () => {
      const err = await callError(
        echoClient(kind, f.url).echo({ message: "x" }, { headers: { "x-echo-fail": "not_found" } }),
      );
      expect(err).toBeInstanceOf(ConnectError);
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe("requested failure");
      const details = err.findDetails(EchoResponseSchema);
      expect(details).toHaveLength(1);
      expect(details[0].message).toBe("detail");
    });

    it("response headers and trailers", async () => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await echoClient(kind, f.url).echo(
        { message: "x" },
        { headers: { "x-echo-trailer": "t-1" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
      );
      expect(header?.get("x-echo-header")).toBe("t-1");
      expect(trailer?.get("x-echo-trailer")).toBe("t-1");
    });

    it("deadline travels upstream", async () => {
      let header: Headers | undefined;
      await echoClient(kind, f.url).echo({ message: "x" }, { timeoutMs: 5000, onHeader: (h) => (header = h) });
      const seen = Number(header?.get("x-echo-timeout-ms"));
      expect(seen).toBeGreaterThan(3000);
      expect(seen).toBeLessThanOrEqual(5000);
    });
  });
});
