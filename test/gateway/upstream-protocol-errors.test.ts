// An upstream that breaks the gRPC protocol gets no success passed on for
// it: a body after a Trailers-Only status, OK without the one message a
// unary method answers. And a gRPC call over GET is refused, not sent on
// without a request.
import { demoDescriptors } from "../../gateway/demo.js";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CountResponseSchema, EchoResponseSchema, EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { startScriptedUpstream, type Script } from "../helpers/scripted-upstream.js";
import { callError } from "../helpers/clients.js";
import { type RawResponse, frames, h1Request, h2Request } from "../helpers/raw.js";

const echoReply = Buffer.from(
  toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: "ok", replica: "scripted" })),
);
const countReply = Buffer.from(
  toBinary(CountResponseSchema, create(CountResponseSchema, { n: 1, replica: "scripted" })),
);
const ECHO = "/acme.echo.v1.EchoService/Echo";

describe("an upstream that breaks the protocol", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(script: Script) {
    const up = await startScriptedUpstream(script);
    cleanup.push(up.close);
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          c: { protocol: "grpc", endpoints: [up.address], healthCheck: false, slowStart: 0, retryPolicy: false },
        },
        routes: [{ match: { prefix: "/" }, cluster: "c" }],
      },
      process.cwd(),
    );
    const gw: Gateway = await startGateway(config, { descriptors: demoDescriptors });
    cleanup.push(() => gw.close());
    const url = `http://127.0.0.1:${gw.ports[0]}`;
    const endpoint = () => gw.clusters.endpointSet("c")!.list[0];
    return {
      up,
      url,
      endpoint,
      grpc: createClient(EchoService, createGrpcTransport({ baseUrl: url })),
      connect: createClient(EchoService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
      grpcWeb: createClient(EchoService, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })),
    };
  }

  it("grpc-status in the response headers and then a body is INTERNAL, on the unary lane and the streaming path, and counts against the endpoint", async () => {
    const { grpc, connect, grpcWeb, endpoint } = await setup((_, seen) => ({
      status: 0,
      statusInHeaders: true,
      reply: seen.path.endsWith("/Count") ? countReply : echoReply,
    }));
    for (const client of [grpc, connect, grpcWeb]) {
      const err = await callError(client.echo({ message: "x" }));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toContain("Trailers-Only");
    }
    const err = await callError(async () => {
      for await (const _ of grpc.count({ count: 1 }));
    });
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toContain("Trailers-Only");
    expect(endpoint().outlier.failures).toBe(4);
  });

  it("a true Trailers-Only response is passed on as it is", async () => {
    const { grpc } = await setup(() => ({ status: 5, message: "no such thing" }));
    const err = await callError(grpc.echo({ message: "x" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("no such thing");
  });

  it("OK without a message to a unary call is INTERNAL (no empty 200 for Connect), and counts against the endpoint", async () => {
    const { grpc, connect, grpcWeb, url, endpoint } = await setup(() => ({ status: 0 }));
    for (const client of [grpc, connect, grpcWeb]) {
      const err = await callError(client.echo({ message: "x" }));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toContain("without a response message");
    }
    const raw = await h1Request(
      url + ECHO,
      "POST",
      { "content-type": "application/json" },
      JSON.stringify({ message: "x" }),
    );
    expect(raw.status).not.toBe(200);
    expect(JSON.parse(raw.body.toString()).code).toBe("internal");
    expect(endpoint().outlier.failures).toBe(4);
  });

  it("OK without a message to a server stream is a stream of none", async () => {
    const { grpc } = await setup(() => ({ status: 0 }));
    const got = [];
    for await (const m of grpc.count({ count: 0 })) got.push(m);
    expect(got).toEqual([]);
  });

  it("a gRPC or gRPC-Web call over GET is refused with a clear error, and nothing goes upstream", async () => {
    const { up, url } = await setup(() => ({ status: 0, reply: echoReply }));
    for (const ct of ["application/grpc", "application/grpc-web+proto"]) {
      // A GET has no body (Node ends the stream with the headers).
      const res = await h2Request(url, { ":method": "GET", ":path": ECHO, "content-type": ct, te: "trailers" });
      const s = grpcStatus(res);
      expect(s["grpc-status"], ct).toBe(String(Code.Unimplemented));
      expect(decodeURIComponent(String(s["grpc-message"]))).toContain("must use POST");
    }
    expect(up.seen).toHaveLength(0);
  });
});

/** The status fields of a gRPC or gRPC-Web response: headers, trailers, or gRPC-Web's trailer frame (0x80). */
function grpcStatus(res: RawResponse): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...res.headers, ...res.trailers };
  for (const f of frames(res.body)) {
    if (!(f.flags & 0x80)) continue;
    for (const line of f.data.toString().split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) fields[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  }
  return fields;
}
