import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import { CallError, Code } from "../call/status.js";
import type { HttpTransport } from "../transport/contract.js";
import { createTransport } from "../transport/create.js";
import { askReflection } from "./reflection-client.js";

// Real servers on loopback: the demo replica (connect-node, reflection from
// the files it hosts) and a bare connect-node server without reflection.

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function transportTo(port: number, protocol: "grpc" | "connect" | "grpc-web" = "grpc"): HttpTransport {
  const cluster = clusterConfig([endpointAt(port)], { protocol });
  const t = createTransport(cluster, cluster.endpoints[0], "test endpoint");
  closers.push(() => t.close());
  return t;
}

async function replica(): Promise<Replica> {
  const r = await startReplica({ name: "r1" });
  closers.push(() => r.close());
  return r;
}

const opts = { timeoutMs: 5000, maxBytes: 1 << 20 };

describe("askReflection", () => {
  it.each(["grpc", "connect", "grpc-web"] as const)(
    "reads services and files with their imports over %s",
    async (protocol) => {
      const r = await replica();
      const answer = await askReflection(
        { transport: transportTo(r.port, protocol), protocol, label: "test endpoint" },
        opts,
      );
      expect(answer).toMatchObject({
        kind: "learned",
        version: "v1",
        services: ["acme.echo.v1.EchoService", "grpc.health.v1.Health"],
      });
      if (answer.kind !== "learned") return;
      expect(answer.files.map((f) => f.name).sort()).toEqual([
        "acme/echo/v1/echo.proto",
        "grpc/health/v1/health.proto",
      ]);
    },
  );

  it("says unimplemented for a server without reflection", async () => {
    const server: Http2Server = createServer(
      connectNodeAdapter({ routes: (router) => router.service(EchoService, {}) }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    expect(
      await askReflection({ transport: transportTo(port), protocol: "grpc", label: "test endpoint" }, opts),
    ).toEqual({ kind: "unimplemented" });
  });

  it("fails with UNAVAILABLE when nothing listens, and gives up at its deadline", async () => {
    const r = await replica();
    const port = r.port;
    await r.close();
    const err = await askReflection(
      { transport: transportTo(port), protocol: "grpc", label: "test endpoint" },
      opts,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallError);
    expect((err as CallError).code).toBe(Code.UNAVAILABLE);

    // A server that takes the stream and never answers.
    const silent: Http2Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const late = await askReflection(
      {
        transport: transportTo((silent.address() as AddressInfo).port),
        protocol: "grpc",
        label: "test endpoint",
      },
      { ...opts, timeoutMs: 200 },
    ).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(CallError);
    expect((late as CallError).code).toBe(Code.DEADLINE_EXCEEDED);
    expect((late as CallError).message).toBe("no reflection answer within 200 ms");
  });
});
