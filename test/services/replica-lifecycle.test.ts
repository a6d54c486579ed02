import { connect as connectTcp } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";

const started: Replica[] = [];
async function replica(name: string, faults?: Parameters<typeof startReplica>[0]["faults"]) {
  const r = await startReplica({ name, faults });
  started.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});

describe("health", () => {
  it("Check reports SERVING for the server and the echo service, NOT_FOUND otherwise", async () => {
    const r = await replica("h1");
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${r.address}` }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "acme.echo.v1.EchoService" })).status).toBe(Status.SERVING);
    const err = await health.check({ service: "nope.Service" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);

    r.health.setServing(false);
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
  });

  it("Watch streams the current status and every change", async () => {
    const r = await replica("h2");
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${r.address}` }));
    const abort = new AbortController();
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const res of health.watch({ service: "" }, { signal: abort.signal })) {
        seen.push(res.status);
        if (seen.length === 1) r.health.setServing(false);
        if (seen.length === 2) r.health.setServing(true);
        if (seen.length === 3) abort.abort();
      }
    })();
    await expect(watching).rejects.toMatchObject({ code: Code.Canceled });
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  });

  it("Watch reports SERVICE_UNKNOWN for unknown services instead of failing", async () => {
    const r = await replica("h3");
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${r.address}` }));
    // Abort rather than `break`: leaving the loop does not reset the HTTP/2
    // stream, so the replica would only drop the watch at close().
    const abort = new AbortController();
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const res of health.watch({ service: "nope.Service" }, { signal: abort.signal })) {
        seen.push(res.status);
        abort.abort();
      }
    })();
    await expect(watching).rejects.toMatchObject({ code: Code.Canceled });
    expect(seen).toEqual([Status.SERVICE_UNKNOWN]);
  });
});

describe("GET /stats", () => {
  it("counts calls per method and writes", async () => {
    const r = await replica("s1");
    const client = createClient(
      EchoService,
      createConnectTransport({ baseUrl: `http://${r.address}`, httpVersion: "1.1" }),
    );
    await client.echo({ message: "a" });
    await client.echo({ message: "b" });
    await client.write({ key: "k", value: "v" });
    r.faults.errorRate = 1;
    await expect(client.write({ key: "k", value: "v" })).rejects.toThrow(/injected fault/);

    const res = await fetch(`http://${r.address}/stats`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({
      name: "s1",
      calls: { Echo: 2, Count: 0, Sum: 0, Chat: 0, Write: 2 },
      writes: 1,
    });
    expect((await fetch(`http://${r.address}/elsewhere`)).status).toBe(404);
  });
});

describe("close", () => {
  it("does not hang on open HTTP/2 sessions, keep-alive sockets and hung calls", async () => {
    const r = await replica("c1", { hang: true });
    const h2 = createClient(EchoService, createGrpcTransport({ baseUrl: `http://${r.address}` }));
    const h1 = createClient(
      EchoService,
      createConnectTransport({ baseUrl: `http://${r.address}`, httpVersion: "1.1" }),
    );
    const hungH2 = h2.echo({ message: "never" }).catch((e: unknown) => ConnectError.from(e));
    const hungH1 = h1.echo({ message: "never" }).catch((e: unknown) => ConnectError.from(e));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.stats.calls.Echo).toBe(2);

    const t0 = performance.now();
    await r.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await hungH2).toBeInstanceOf(ConnectError);
    expect(await hungH1).toBeInstanceOf(ConnectError);
  });

  it("closes promptly when clients have finished", async () => {
    const r = await replica("c2");
    const h1 = createClient(
      EchoService,
      createConnectTransport({ baseUrl: `http://${r.address}`, httpVersion: "1.1" }),
    );
    await h1.echo({ message: "done" });
    const t0 = performance.now();
    await r.close();
    // Idle HTTP/1.1 keep-alive sockets are closed at once, not after the grace period.
    expect(performance.now() - t0).toBeLessThan(400);
  });

  it("survives clients that reset their connection mid-preface or mid-request", async () => {
    const r = await replica("c3");
    for (const bytes of ["PRI * HTTP/2.0\r\n", "POST /acme.echo.v1.EchoService/Echo HTTP/1.1\r\nHost: x\r\n"]) {
      await new Promise<void>((resolve) => {
        const socket = connectTcp(r.port, "127.0.0.1", () => {
          socket.write(bytes, () => {
            socket.resetAndDestroy();
            resolve();
          });
        });
        socket.on("error", () => resolve());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: `http://${r.address}` }));
    expect((await client.echo({ message: "alive" })).replica).toBe("c3");
  });
});
