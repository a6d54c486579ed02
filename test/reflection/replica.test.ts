import { afterEach, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { validateConfigObject } from "../../gateway/config/load.js";

// The project's own replicas serve reflection for what they host, so a
// gateway given no descriptors at all learns the demo API from them, asking
// in each protocol the cluster speaks.

let gateway: Gateway | undefined;
let replica: Replica | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await replica?.close();
  replica = undefined;
});

describe("descriptors: reflection, against the demo replica", () => {
  it.each(["grpc", "connect", "grpc-web"] as const)("learns the echo API over %s", async (protocol) => {
    replica = await startReplica({ name: "r1" });
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          echo: { protocol, healthCheck: false, descriptors: "reflection", endpoints: [replica.address] },
        },
        routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
      },
      process.cwd(),
    );
    // No `descriptors` option: the gateway knows nothing of acme.echo.v1 but what the replica says.
    gateway = await startGateway(config);
    await gateway.reflection.settled();
    expect(gateway.catalogueStatus()).toMatchObject({
      state: "ok",
      learnedServices: ["acme.echo.v1.EchoService"],
      endpoints: [{ state: "ok", version: "v1", services: ["acme.echo.v1.EchoService", "grpc.health.v1.Health"] }],
    });
    const res = await fetch(`http://127.0.0.1:${gateway.ports[0]}/acme.echo.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "hi" }),
    });
    expect(await res.json()).toEqual({ message: "hi", replica: "r1" });
  });

  it("cannot ask connect-node over HTTP/1.1 (it refuses bidi there), says so, and calls pass through", async () => {
    replica = await startReplica({ name: "r1" });
    const events: string[] = [];
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          echo: {
            protocol: "connect",
            http: "1.1",
            healthCheck: false,
            descriptors: "reflection",
            endpoints: [replica.address],
          },
        },
        routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
      },
      process.cwd(),
    );
    gateway = await startGateway(config, { onClusterEvent: (m) => events.push(m) });
    await gateway.reflection.settled();
    const status = gateway.catalogueStatus();
    expect(status).toMatchObject({ state: "ok", learnedServices: [], endpoints: [{ state: "failing" }] });
    expect(status.endpoints[0].error).toBe("answered HTTP 505");
    expect(events).toEqual([
      `cluster "echo" endpoint ${replica.address}: server reflection failing, nothing learned from it yet: answered HTTP 505`,
    ]);
    // Connect with the proto codec needs no descriptor: EchoRequest{message: "hi"} goes through as it is.
    const res = await fetch(`http://127.0.0.1:${gateway.ports[0]}/acme.echo.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: new Uint8Array([0x0a, 0x02, 0x68, 0x69]),
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).includes(Buffer.from("r1"))).toBe(true);
  });
});
