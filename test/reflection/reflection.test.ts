import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { grpcurl, requireTools, startUpstream, type Upstream } from "./upstream.js";

// A grpc-go server with server reflection (test/reflection/upstream), serving
// inventory.v1.StockService, which the gateway has no descriptor for. Every
// cluster below says `descriptors: reflection` and nothing else about it.

const STOCK = "inventory.v1.StockService";

let gateway: Gateway | undefined;
let upstreams: Upstream[] = [];
let events: string[] = [];
let dir: string | undefined;

beforeAll(requireTools);

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await Promise.all(upstreams.map((u) => u.stop()));
  upstreams = [];
  events = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function upstream(opts: Parameters<typeof startUpstream>[0] = {}): Promise<Upstream> {
  const u = await startUpstream(opts);
  upstreams.push(u);
  return u;
}

function clusterInput(endpoints: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { protocol: "grpc", healthCheck: false, slowStart: "0s", descriptors: "reflection", endpoints, ...extra };
}

function configInput(clusters: Record<string, unknown>): Record<string, unknown> {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    clusters,
    routes: Object.keys(clusters).map((name) => ({ match: { prefix: "/" }, cluster: name })),
  };
}

async function start(clusters: Record<string, unknown>): Promise<string> {
  dir ??= mkdtempSync(join(tmpdir(), "switchyard-reflection-"));
  const config = await validateConfigObject(configInput(clusters), dir);
  gateway = await startGateway(config, { onClusterEvent: (m) => events.push(m) });
  await gateway.reflection.settled();
  return `127.0.0.1:${gateway.ports[0]}`;
}

/** Reloads from `clusters`, as POST /reload would from an edited file, and waits for the endpoints' answers. */
async function reload(clusters: Record<string, unknown>): Promise<void> {
  const result = await gateway!.reload("test", () => validateConfigObject(configInput(clusters), dir!));
  expect(result.problems).toEqual([]);
  await gateway!.reflection.settled();
}

async function postJson(target: string, method: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://${target}/${STOCK}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function getJson(target: string, method: string, message: unknown): Promise<{ status: number; json: any }> {
  const q = new URLSearchParams({ connect: "v1", encoding: "json", message: JSON.stringify(message) });
  const res = await fetch(`http://${target}/${STOCK}/${method}?${q}`);
  return { status: res.status, json: await res.json() };
}

describe("descriptors: reflection, against grpc-go", () => {
  it("learns an API it was never given: Connect JSON, Connect GET where the proto allows it, and grpcurl through the gateway", async () => {
    const u = await upstream();
    const target = await start({ inv: clusterInput([u.address]) });
    expect(gateway!.catalogueStatus()).toMatchObject({
      state: "ok",
      learnedServices: [STOCK],
      conflicts: [],
      // grpc-go serves its own health too; only the API the gateway lacked is learned.
      endpoints: [
        { cluster: "inv", address: u.address, state: "ok", version: "v1", services: ["grpc.health.v1.Health", STOCK] },
      ],
    });

    // JSON in, proto to grpc-go, JSON out, google.protobuf.Timestamp included.
    expect(await postJson(target, "GetStock", { sku: "abc" })).toEqual({
      status: 200,
      json: { sku: "abc", quantity: 30, checkedAt: "2024-05-01T12:00:00Z", servedBy: "u1" },
    });
    expect(await postJson(target, "Reserve", { sku: "abc", quantity: 2 })).toEqual({
      status: 200,
      json: { id: "u1-1", sku: "abc", quantity: 2, servedBy: "u1" },
    });
    // The upstream's own errors come back in Connect's form.
    expect(await postJson(target, "GetStock", { sku: "missing" })).toEqual({
      status: 404,
      json: { code: "not_found", message: 'no stock record for "missing"' },
    });

    // GET only for the method the upstream's proto marks NO_SIDE_EFFECTS.
    expect(await getJson(target, "GetStock", { sku: "ab" })).toMatchObject({ status: 200, json: { quantity: 20 } });
    expect(await getJson(target, "Reserve", { sku: "ab", quantity: 1 })).toEqual({
      status: 501,
      json: {
        code: "unimplemented",
        message: `/${STOCK}/Reserve is not marked NO_SIDE_EFFECTS, so it cannot be called with GET; use POST`,
      },
    });

    // grpcurl asks the gateway's own reflection, which now answers for the upstream's API.
    const list = await grpcurl(target, ["list"]);
    expect(list.stderr).toBe("");
    expect(list.stdout.split("\n")).toContain(STOCK);
    const described = await grpcurl(target, ["describe", STOCK]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(
      "rpc GetStock ( .inventory.v1.GetStockRequest ) returns ( .inventory.v1.Stock )",
    );
    expect(described.stdout).toContain("option idempotency_level = NO_SIDE_EFFECTS;");
    expect(described.stdout).toContain(
      "rpc Reserve ( .inventory.v1.ReserveRequest ) returns ( .inventory.v1.Reservation );",
    );
    const message = await grpcurl(target, ["describe", "inventory.v1.Stock"]);
    expect(message.stdout).toContain(".google.protobuf.Timestamp checked_at = 3;");
    const call = await grpcurl(target, [`${STOCK}/GetStock`], ["-d", '{"sku":"xyz"}']);
    expect(call.stderr).toBe("");
    expect(JSON.parse(call.stdout)).toEqual({
      sku: "xyz",
      quantity: 30,
      checkedAt: "2024-05-01T12:00:00Z",
      servedBy: "u1",
    });
  });

  it("retries a failed call the upstream's proto says is safe to repeat, and not one it does not", async () => {
    // Every method's first call answers UNAVAILABLE after it arrived.
    const u = await upstream({ failFirst: 1 });
    const target = await start({ inv: clusterInput([u.address], { retryPolicy: { initialBackoff: "1ms" } }) });
    // GetStock is NO_SIDE_EFFECTS: retried, and the client never sees the failure.
    expect(await postJson(target, "GetStock", { sku: "abc" })).toMatchObject({ status: 200, json: { sku: "abc" } });
    // Reserve is not marked: it may have reserved, so the failure is the answer.
    expect(await postJson(target, "Reserve", { sku: "abc", quantity: 1 })).toEqual({
      status: 503,
      json: { code: "unavailable", message: "warming up" },
    });
    expect(await postJson(target, "Reserve", { sku: "abc", quantity: 1 })).toMatchObject({ status: 200 });
  });

  it("learns a method the upstream gains when it is redeployed, at the next refresh", async () => {
    const v1 = await upstream();
    const target = await start({ inv: clusterInput([v1.address], { descriptorRefresh: "1s" }) });
    const release = () => postJson(target, "Release", { id: "u1-7" });
    const before = await release();
    expect(before.status).toBe(501);
    expect(before.json.message).toMatch(/no descriptor for this method/);

    await v1.stop();
    await upstream({ addr: v1.address, v2: true, name: "u2" });
    await expect
      .poll(async () => (await release()).json, { timeout: 10_000, interval: 200 })
      .toEqual({
        id: "u1-7",
        servedBy: "u2",
      });
    expect((await grpcurl(target, ["describe", STOCK])).stdout).toContain("option idempotency_level = IDEMPOTENT;");
    expect(events.filter((e) => e.startsWith("method catalogue rebuilt"))).toEqual([
      `method catalogue rebuilt from the server reflection of 1 endpoint(s): knows ${STOCK} (added ${STOCK})`,
      `method catalogue rebuilt from the server reflection of 1 endpoint(s): knows ${STOCK} (descriptors changed)`,
    ]);
  });

  it("keeps the catalogue as it was when two endpoints disagree, says who, and takes the new API once they agree", async () => {
    const v1 = await upstream({ name: "old" });
    const v2 = await upstream({ name: "new", v2: true });
    const target = await start({ inv: clusterInput([v1.address]) });
    expect((await postJson(target, "GetStock", { sku: "a" })).status).toBe(200);

    await reload({ inv: clusterInput([v1.address, v2.address]) });
    const status = gateway!.catalogueStatus();
    expect(status.state).toBe("conflict");
    const a = `cluster "inv" endpoint ${v1.address}`;
    const b = `cluster "inv" endpoint ${v2.address}`;
    // Which one was first depends on the addresses' order, which is deterministic.
    const [first, second] = [a, b].sort();
    expect(status.conflicts).toContainEqual({ name: STOCK, sources: [first, second] });
    expect(events).toContain(
      `server reflection conflict, the method catalogue stays as it was: ${STOCK} is defined differently by ${first} and by ${second}`,
    );
    // As it was: GetStock still transcodes; Release, which only one endpoint has, does not.
    expect((await postJson(target, "GetStock", { sku: "a" })).status).toBe(200);
    expect((await postJson(target, "Release", { id: "x" })).status).toBe(501);

    await reload({ inv: clusterInput([v2.address]) });
    expect(gateway!.catalogueStatus()).toMatchObject({ state: "ok", conflicts: [] });
    expect(await postJson(target, "Release", { id: "x" })).toEqual({ status: 200, json: { id: "x", servedBy: "new" } });
  });

  it("asks an endpoint as soon as discovery finds it", async () => {
    const u = await upstream();
    dir = mkdtempSync(join(tmpdir(), "switchyard-reflection-"));
    const list = (endpoints: string[]) => {
      writeFileSync(join(dir!, "endpoints.tmp"), JSON.stringify(endpoints));
      renameSync(join(dir!, "endpoints.tmp"), join(dir!, "endpoints.yaml"));
    };
    list([]);
    // The default refresh is a minute: only the new endpoint's arrival explains a lesson within the poll.
    const target = await start({
      inv: {
        protocol: "grpc",
        healthCheck: false,
        descriptors: "reflection",
        discovery: { file: { path: "endpoints.yaml" } },
      },
    });
    expect(gateway!.catalogueStatus().learnedServices).toEqual([]);
    list([u.address]);
    await expect
      .poll(async () => (await postJson(target, "GetStock", { sku: "abcd" })).json, { timeout: 10_000, interval: 200 })
      .toMatchObject({ quantity: 40, servedBy: "u1" });
    expect(gateway!.catalogueStatus().learnedServices).toEqual([STOCK]);
  });

  it("falls back to v1alpha for servers that only have it", async () => {
    const u = await upstream({ reflection: "v1alpha" });
    const target = await start({ inv: clusterInput([u.address]) });
    expect(gateway!.catalogueStatus().endpoints).toMatchObject([{ state: "ok", version: "v1alpha" }]);
    expect(await postJson(target, "GetStock", { sku: "a" })).toMatchObject({ status: 200, json: { quantity: 10 } });
  });

  it("passes calls to an upstream without reflection through as before, and says so once", async () => {
    const u = await upstream({ reflection: "off" });
    const target = await start({ legacy: clusterInput([u.address], { descriptorRefresh: "1s" }) });
    // Connect with the proto codec needs no descriptor: the bytes go through as they are.
    const getStock = () =>
      fetch(`http://${target}/${STOCK}/GetStock`, {
        method: "POST",
        headers: { "content-type": "application/proto" },
        body: new Uint8Array([0x0a, 0x03, ...Buffer.from("abc")]), // GetStockRequest{sku: "abc"}
      });
    const res = await getStock();
    expect(res.status).toBe(200);
    // Stock{sku: "abc", quantity: 30, ..., served_by: "u1"}, fields in whatever order grpc-go wrote them.
    const body = Buffer.from(await res.arrayBuffer());
    for (const field of [
      [0x0a, 0x03, ...Buffer.from("abc")],
      [0x10, 30],
      [0x22, 0x02, ...Buffer.from("u1")],
    ]) {
      expect(body.includes(Buffer.from(field)), `field ${field[0] >> 3} in ${body.toString("hex")}`).toBe(true);
    }
    // JSON cannot be translated without a descriptor, and the error says how to get one.
    const json = await postJson(target, "GetStock", { sku: "abc" });
    expect(json.status).toBe(501);
    expect(json.json.message).toMatch(/no descriptor for this method/);

    // More rounds (a reload, the refresh timer) ask again, quietly.
    await reload({ legacy: clusterInput([u.address], { descriptorRefresh: "1s" }) });
    await new Promise((r) => setTimeout(r, 1500));
    await gateway!.reflection.settled();
    expect((await getStock()).status).toBe(200);
    expect(events.filter((e) => e.includes("server reflection"))).toEqual([
      `cluster "legacy" endpoint ${u.address} serves no server reflection (grpc.reflection v1 and v1alpha: UNIMPLEMENTED): nothing is learned from endpoints without it, and their calls pass through as before`,
    ]);
    expect(gateway!.catalogueStatus()).toMatchObject({
      state: "ok",
      learnedServices: [],
      endpoints: [{ cluster: "legacy", address: u.address, state: "unimplemented" }],
    });
  });

  it("keeps what it learned while the upstream is away, and calls keep transcoding when it is back", async () => {
    const u = await upstream();
    const target = await start({ inv: clusterInput([u.address], { descriptorRefresh: "1s" }) });
    await u.stop();
    await expect
      .poll(() => gateway!.catalogueStatus().endpoints[0]?.state, { timeout: 10_000, interval: 200 })
      .toBe("failing");
    expect(gateway!.catalogueStatus().learnedServices).toEqual([STOCK]);
    expect(events.some((e) => e.includes("server reflection failing, keeping what it said last"))).toBe(true);
    // Still known: the call is translated and fails for want of an upstream, not of a descriptor.
    expect((await postJson(target, "GetStock", { sku: "ab" })).json.code).toBe("unavailable");
    await upstream({ addr: u.address });
    await expect
      .poll(async () => (await postJson(target, "GetStock", { sku: "ab" })).status, { timeout: 10_000, interval: 200 })
      .toBe(200);
  });
});
