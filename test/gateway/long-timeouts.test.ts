// A timeout longer than a Node timer can hold (2^31 - 1 ms, about 24.8
// days) used to fire at once: at the gateway, or at a Node upstream told the
// remaining time. Each header form, over real sockets, to real replicas.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope, frames, h1Request, h2Request } from "../helpers/raw.js";
import { EchoRequestSchema, EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";

const ECHO = "/acme.echo.v1.EchoService/Echo";
const COUNT = "/acme.echo.v1.EchoService/Count";
const MAX_TIMER_MS = 2 ** 31 - 1;
const echoBytes = (message: string) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message })));

describe.each(["grpc", "connect"] as const)("long timeouts, to a %s upstream", (protocol) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ protocol });
  });
  afterAll(() => f.close());

  it.each(["720H", "99999999H", "2147484S", "99999999S"])(
    "grpc-timeout: %s does not end the call at once",
    async (timeout) => {
      const res = await h2Request(
        f.url,
        { ":path": ECHO, "content-type": "application/grpc", te: "trailers", "grpc-timeout": timeout },
        envelope(0, echoBytes("long")),
      );
      expect(
        res.trailers["grpc-status"] ?? res.headers["grpc-status"],
        String(res.trailers["grpc-message"] ?? res.headers["grpc-message"]),
      ).toBe("0");
      expect(fromBinary(EchoResponseSchema, frames(res.body)[0].data).message).toBe("long");
      // What the upstream was told fits its own timers too.
      const told = Number(res.headers["x-echo-timeout-ms"]);
      expect(told).toBeGreaterThan(MAX_TIMER_MS - 60_000);
      expect(told).toBeLessThanOrEqual(MAX_TIMER_MS);
    },
  );

  it("a long grpc-timeout holds on the streaming path too", async () => {
    // CountRequest { count: 3, interval_ms: 30 }: the upstream sleeps on its deadline signal.
    const req = envelope(0, Buffer.from([0x08, 0x03, 0x10, 0x1e]));
    const res = await h2Request(
      f.url,
      { ":path": COUNT, "content-type": "application/grpc", te: "trailers", "grpc-timeout": "720H" },
      req,
    );
    expect(res.trailers["grpc-status"], String(res.trailers["grpc-message"])).toBe("0");
    expect(frames(res.body)).toHaveLength(3);
  });

  it("connect-timeout-ms: 9999999999 does not end the call at once", async () => {
    const res = await h1Request(
      f.url + ECHO,
      "POST",
      { "content-type": "application/json", "connect-timeout-ms": "9999999999" },
      JSON.stringify({ message: "long" }),
    );
    expect(res.status, res.body.toString()).toBe(200);
    expect(JSON.parse(res.body.toString()).message).toBe("long");
    const told = Number(res.headers["x-echo-timeout-ms"]);
    expect(told).toBeGreaterThan(MAX_TIMER_MS - 60_000);
    expect(told).toBeLessThanOrEqual(MAX_TIMER_MS);
  });
});
