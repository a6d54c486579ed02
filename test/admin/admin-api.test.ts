// Issue 13: the admin API (switchyard.admin.v1.AdminService) of a real
// gateway in front of real demo replicas, called as operators and tools do:
// gRPC over h2c and Connect JSON over HTTP/1.1 (connect-node), and raw
// Connect GETs as a browser or curl would send them.
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { startReplica, type Replica } from "../../services/replica.js";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { AdminService, BreakerState, EndpointState } from "../../gen/switchyard/admin/v1/admin_pb.js";
import { type AdminClient, type AdminScene, echoConfig, endpointOf, startAdminScene, waitFor } from "./admin-scene.js";

let replicas: Replica[] = [];
let scene: AdminScene | undefined;

afterEach(async () => {
  await scene?.close();
  scene = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
});

async function start(n: number, extra: Record<string, unknown> = {}): Promise<AdminScene> {
  replicas = await Promise.all(Array.from({ length: n }, (_, i) => startReplica({ name: `r${i + 1}` })));
  scene = await startAdminScene(
    echoConfig(
      replicas.map((r) => r.address),
      extra,
    ),
  );
  return scene;
}

const echo = (s: AdminScene) => createClient(EchoService, createGrpcTransport({ baseUrl: s.url }));

/** Which replicas answered `n` Echo calls, and how often. */
async function answers(s: AdminScene, n: number): Promise<Map<string, number>> {
  const client = echo(s);
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = (await client.echo({ message: "x" })).replica;
    seen.set(r, (seen.get(r) ?? 0) + 1);
  }
  return seen;
}

async function refused(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

const clients = (s: AdminScene): Array<[string, AdminClient]> => [
  ["gRPC", s.grpc],
  ["Connect JSON", s.connect],
];

describe("ListClusters", () => {
  it("shows each endpoint's address, weight, state and live numbers, over gRPC and Connect", async () => {
    const s = await start(2);
    await answers(s, 40);
    for (const [name, client] of clients(s)) {
      const r = await client.listClusters({});
      expect(r.windowSeconds, name).toBe(10);
      expect(r.time?.seconds, name).toBeGreaterThan(0n);
      expect(
        r.clusters.map((c) => [c.name, c.protocol, c.balancer]),
        name,
      ).toEqual([["echo", "grpc", "weighted_round_robin"]]);
      const eps = r.clusters[0]!.endpoints;
      expect(
        eps.map((e) => [e.address, e.weight, e.priority]),
        name,
      ).toEqual(replicas.map((x) => [x.address, 1, 0]));
      for (const e of eps) {
        expect(e.state, `${name} ${e.address}`).toBe(EndpointState.HEALTHY);
        expect(e.breaker).toBe(BreakerState.CLOSED);
        expect(e.drained).toBe(false);
        expect(e.unavailableReason).toBe("");
        expect(e.inFlight).toBe(0);
        expect(e.errorRate).toBe(0);
        expect(e.callsPerSecond).toBeGreaterThan(0);
        expect(e.latencyP50Ms).toBeGreaterThan(0);
        expect(e.latencyP99Ms).toBeGreaterThanOrEqual(e.latencyP50Ms);
      }
    }
  });

  it("counts failed attempts in the error rate and retries per cluster", async () => {
    // No breaker or ejection: every call should reach the replica.
    const s = await start(1, {
      retryPolicy: { maxAttempts: 2, initialBackoff: "1ms" },
      circuitBreaker: false,
      outlierDetection: false,
    });
    const client = echo(s);
    for (let i = 0; i < 10; i++) {
      // x-echo-fail makes the replica answer UNAVAILABLE, which the policy retries once.
      await client.echo({ message: "x" }, { headers: { "x-echo-fail": "unavailable" } }).catch(() => {});
      await client.echo({ message: "x" });
    }
    const r = await s.connect.listClusters({});
    const c = r.clusters[0]!;
    expect(c.retriesPerSecond).toBeGreaterThan(0);
    expect(c.hedgesPerSecond).toBe(0);
    // 20 failed attempts (each failing call tried twice) and 10 good ones.
    expect(c.endpoints[0]!.errorRate).toBeCloseTo(20 / 30, 5);
  });
});

describe("DrainEndpoint and UndrainEndpoint", () => {
  it("a drained endpoint gets no new calls, its call in flight finishes, and undrain brings it back", async () => {
    const s = await start(2);
    const [r1, r2] = replicas as [Replica, Replica];
    const drained = await s.grpc.drainEndpoint({ cluster: "echo", address: r1.address });
    expect(drained.endpoint).toMatchObject({ address: r1.address, drained: true, state: EndpointState.DRAINING });
    expect(drained.endpoint?.unavailableReason).toBe("drained by an operator");
    expect(await answers(s, 20)).toEqual(new Map([["r2", 20]]));

    // A stream on r2, the one endpoint left, then r2 drained too while it runs.
    const stream = echo(s).count({ count: 5, intervalMs: 150 });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.replica).toBe("r2");
    await s.connect.drainEndpoint({ cluster: "echo", address: r2.address });
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.replica);
    expect(rest).toEqual(["r2", "r2", "r2", "r2"]);
    const none = await refused(echo(s).echo({ message: "x" }));
    expect(none.code).toBe(Code.Unavailable);
    expect(none.rawMessage).toContain("drained by an operator");

    const undrained = await s.connect.undrainEndpoint({ cluster: "echo", address: r1.address });
    expect(undrained.endpoint).toMatchObject({ drained: false, state: EndpointState.HEALTHY });
    await s.grpc.undrainEndpoint({ cluster: "echo", address: r2.address });
    expect(await answers(s, 20)).toEqual(
      new Map([
        ["r1", 10],
        ["r2", 10],
      ]),
    );
  });

  it("draining twice and undraining an endpoint in service change nothing", async () => {
    const s = await start(1);
    const a = replicas[0]!.address;
    await s.grpc.drainEndpoint({ cluster: "echo", address: a });
    expect((await s.grpc.drainEndpoint({ cluster: "echo", address: a })).endpoint?.drained).toBe(true);
    await s.grpc.undrainEndpoint({ cluster: "echo", address: a });
    expect((await s.grpc.undrainEndpoint({ cluster: "echo", address: a })).endpoint?.drained).toBe(false);
    expect(await answers(s, 2)).toEqual(new Map([["r1", 2]]));
  });

  it("holds across a discovery update and a reload that rebuilds the endpoints, and ends when the address leaves", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas as [Replica, Replica];
    const config = (breakerVolume: number) =>
      echoConfig([], {
        endpoints: undefined,
        discovery: { file: { path: "endpoints.yaml" } },
        circuitBreaker: { volumeThreshold: breakerVolume },
      });
    scene = await startAdminScene({ ...config(20) });
    const s = scene;
    const list = (eps: unknown[]) => s.write("endpoints.yaml", JSON.stringify(eps));
    list([r1.address, r2.address]);
    await waitFor(
      "both replicas discovered",
      async () => (await s.grpc.listClusters({})).clusters[0]!.endpoints.length === 2,
    );
    await s.grpc.drainEndpoint({ cluster: "echo", address: r1.address });

    // Discovery reweights r1: still drained.
    list([{ address: r1.address, weight: 3 }, r2.address]);
    await waitFor("r1 reweighted", async () => (await endpointOf(s.grpc, r1.address)).weight === 3);
    expect((await endpointOf(s.grpc, r1.address)).drained).toBe(true);

    // A reload that changes the breaker rebuilds every endpoint: still drained.
    s.write("gateway.yaml", JSON.stringify(config(30)));
    const reload = await s.grpc.reloadConfig({});
    expect(reload.status).toBe("reloaded");
    expect(reload.changed).toContain("clusters.echo");
    expect((await endpointOf(s.grpc, r1.address)).drained).toBe(true);
    expect(await answers(s, 10)).toEqual(new Map([["r2", 10]]));

    // r1 leaves the set and comes back: a new endpoint, in service.
    list([r2.address]);
    await waitFor("r1 gone", async () => (await s.grpc.listClusters({})).clusters[0]!.endpoints.length === 1);
    list([r1.address, r2.address]);
    await waitFor("r1 back", async () => (await s.grpc.listClusters({})).clusters[0]!.endpoints.length === 2);
    expect((await endpointOf(s.grpc, r1.address)).drained).toBe(false);
  });

  it("an unknown cluster or endpoint is NOT_FOUND, saying what there is; a missing field is INVALID_ARGUMENT", async () => {
    const s = await start(1);
    const a = replicas[0]!.address;
    for (const [name, client] of clients(s)) {
      const noCluster = await refused(client.drainEndpoint({ cluster: "nope", address: a }));
      expect(noCluster.code, name).toBe(Code.NotFound);
      expect(noCluster.rawMessage).toBe('no cluster "nope" in the config (clusters: echo)');
      const noEndpoint = await refused(client.undrainEndpoint({ cluster: "echo", address: "127.0.0.1:1" }));
      expect(noEndpoint.code, name).toBe(Code.NotFound);
      expect(noEndpoint.rawMessage).toBe(`cluster "echo" has no endpoint 127.0.0.1:1 (endpoints: ${a})`);
      const missing = await refused(client.drainEndpoint({ cluster: "echo" }));
      expect(missing.code, name).toBe(Code.InvalidArgument);
      expect(missing.rawMessage).toContain("address is required");
    }
    expect((await endpointOf(s.grpc, a)).drained).toBe(false);
  });
});

describe("Connect GET", () => {
  const get = (s: AdminScene, method: string, message: unknown) =>
    fetch(
      `${s.admin}/switchyard.admin.v1.AdminService/${method}?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`,
    );

  it("serves the read methods and refuses the ones that change something (405), which then change nothing", async () => {
    const s = await start(1);
    const a = replicas[0]!.address;
    const list = await get(s, "ListClusters", {});
    expect(list.status).toBe(200);
    expect((await list.json()).clusters[0].endpoints[0].address).toBe(a);
    for (const m of ["ListRoutes", "GetConfig"]) expect((await get(s, m, {})).status, m).toBe(200);

    for (const m of ["DrainEndpoint", "UndrainEndpoint", "ReloadConfig"]) {
      const res = await get(s, m, { cluster: "echo", address: a });
      expect(res.status, m).toBe(405);
      await res.body?.cancel();
    }
    expect((await endpointOf(s.grpc, a)).drained).toBe(false);
    expect(s.gateway.reloads).toEqual({ reloaded: 0, unchanged: 0, rejected: 0 });

    // connect-web and connect-node use GET only where the proto allows it; reads go as GET.
    const viaGet = createClient(
      AdminService,
      createConnectTransport({ baseUrl: s.admin, httpVersion: "1.1", useHttpGet: true }),
    );
    expect((await viaGet.listClusters({})).clusters[0]!.name).toBe("echo");
    expect((await viaGet.drainEndpoint({ cluster: "echo", address: a })).endpoint?.drained).toBe(true);
  });

  it("answers POSTed Connect JSON as curl sends it, zeros included", async () => {
    const s = await start(1);
    const res = await fetch(`${s.admin}/switchyard.admin.v1.AdminService/ListClusters`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.clusters[0].endpoints[0]).toMatchObject({
      address: replicas[0]!.address,
      priority: 0,
      inFlight: 0,
      state: "ENDPOINT_STATE_HEALTHY",
      breaker: "BREAKER_STATE_CLOSED",
      drained: false,
    });
  });
});

describe("WatchClusters", () => {
  it("sends a snapshot at once and then one a second", async () => {
    const s = await start(1);
    for (const [name, client] of clients(s)) {
      const ac = new AbortController();
      const times: number[] = [];
      for await (const m of client.watchClusters({}, { signal: ac.signal })) {
        expect(m.clusters[0]!.endpoints[0]!.address, name).toBe(replicas[0]!.address);
        times.push(Number(m.time!.seconds) * 1000 + m.time!.nanos / 1e6);
        if (times.length === 3) break;
      }
      ac.abort();
      // One a second: each snapshot's own time is about a second after the last one's.
      expect(times[1]! - times[0]!, name).toBeGreaterThanOrEqual(900);
      expect(times[2]! - times[1]!, name).toBeGreaterThanOrEqual(900);
    }
  });

  it("ends with OK, not an error, when the gateway stops", async () => {
    const s = await start(1);
    const watches = clients(s).map(([name, client]) => {
      let seen = 0;
      const done = (async () => {
        for await (const m of client.watchClusters({})) seen += m.clusters.length;
        return "ended";
      })();
      return { name, done, seen: () => seen };
    });
    for (const w of watches) await waitFor(`${w.name}: a first snapshot`, async () => w.seen() > 0);
    await s.gateway.close();
    for (const w of watches) await expect(w.done, w.name).resolves.toBe("ended");
  });
});
