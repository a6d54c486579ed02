import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { envelope, h1Request, h2Request } from "../helpers/raw.js";
import { CountRequestSchema, EchoRequestSchema } from "../../gen/acme/echo/v1/echo_pb.js";

// gRPC servers advertise the encodings they accept on every response, and
// C-core logs a complaint when a gzip response comes without it.

const ECHO = "/acme.echo.v1.EchoService/Echo";
const echo = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "hi" })));

describe("responses advertise what the gateway accepts", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it("gRPC: on a normal response, a gzip one, and a trailers-only error", async () => {
    const ok = await h2Request(f.url, { ":path": ECHO, "content-type": "application/grpc", te: "trailers" }, echo);
    expect(ok.headers["grpc-accept-encoding"]).toBe("identity, gzip");
    const gz = await h2Request(
      f.url,
      { ":path": ECHO, "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": "gzip" },
      echo,
    );
    expect(gz.headers["grpc-encoding"]).toBe("gzip");
    expect(gz.headers["grpc-accept-encoding"]).toBe("identity, gzip");
    const err = await h2Request(
      f.url,
      { ":path": "/nope.v1.Nope/Call", "content-type": "application/grpc", te: "trailers" },
      echo,
    );
    expect(err.headers["grpc-status"]).toBe("12");
    expect(err.headers["grpc-accept-encoding"]).toBe("identity, gzip");
  });

  it("gRPC-Web, over HTTP/1.1", async () => {
    const res = await h1Request(
      `${f.url}${ECHO}`,
      "POST",
      { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      echo,
    );
    expect(res.status).toBe(200);
    expect(res.headers["grpc-accept-encoding"]).toBe("identity, gzip");
  });

  it("Connect streaming", async () => {
    const count = envelope(0, toBinary(CountRequestSchema, create(CountRequestSchema, { count: 1 })));
    const res = await h2Request(
      f.url,
      { ":path": "/acme.echo.v1.EchoService/Count", "content-type": "application/connect+proto" },
      count,
    );
    expect(res.headers["connect-accept-encoding"]).toBe("gzip");
  });
});
