import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { CLIENT_KINDS, callError, echoClient } from "../helpers/clients.js";

// A cluster whose endpoints come from a watched file, over real sockets.

const grpc = CLIENT_KINDS[0];
let replicas: Replica[] = [];
let gateway: Gateway | undefined;
let dir: string;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Writes the list the way editors and config managers do: a new file renamed over the old. */
function writeList(list: unknown): void {
  const tmp = join(dir, "endpoints.yaml.tmp");
  writeFileSync(tmp, JSON.stringify(list));
  renameSync(tmp, join(dir, "endpoints.yaml"));
}

async function start(extra: Record<string, unknown> = {}): Promise<{ url: string; adminUrl: string }> {
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      admin: { port: 0 },
      clusters: {
        echo: {
          protocol: "grpc",
          healthCheck: false,
          slowStart: "0s",
          discovery: { file: { path: "endpoints.yaml" } },
          ...extra,
        },
      },
      routes: [{ match: { prefix: "/" }, cluster: "echo" }],
    },
    dir,
  );
  gateway = await startGateway(config, { descriptors: demoDescriptors });
  return { url: `http://127.0.0.1:${gateway.ports[0]}`, adminUrl: `http://127.0.0.1:${gateway.adminPort}` };
}

async function repliesFrom(url: string, n: number): Promise<Set<string>> {
  const client = echoClient(grpc, url);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await client.echo({ message: "x" })).replica);
  return seen;
}

describe("discovery: file", () => {
  it("follows the file as it changes; a broken file keeps the last good list and says so; an empty one empties the set", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-file-"));
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    writeList([r1.address]);
    const { url, adminUrl } = await start();
    await expect.poll(() => repliesFrom(url, 4).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));

    writeList([r1.address, { address: r2.address, weight: 1 }]);
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r1", "r2"]));

    writeFileSync(join(dir, "endpoints.yaml"), "[ not: yaml: at all");
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${adminUrl}/ready`)).json()) as { discovery: Array<{ state: string }> }).discovery[0]
            .state,
        { timeout: 5000 },
      )
      .toBe("failing");
    const ready = (await (await fetch(`${adminUrl}/ready`)).json()) as {
      discovery: Array<{ error: string; endpoints: number }>;
    };
    expect(ready.discovery[0].endpoints).toBe(2);
    expect(ready.discovery[0].error).toContain("endpoints.yaml");
    expect(await repliesFrom(url, 8)).toEqual(new Set(["r1", "r2"]));

    writeList([]);
    await expect
      .poll(
        () =>
          callError(echoClient(grpc, url).echo({ message: "x" })).then(
            (e) => e.rawMessage,
            () => "",
          ),
        { timeout: 5000 },
      )
      .toContain('cluster "echo" has no endpoints');
  });

  it("keeps static endpoints in the set whatever the file says", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-file-"));
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    writeList([r2.address]);
    const { url } = await start({ endpoints: [r1.address] });
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r1", "r2"]));
    writeList([]);
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r1"]));
  });

  it("a file that is missing at start is a failure, not an empty cluster; it is picked up when it appears", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-file-"));
    replicas = [await startReplica({ name: "r1" })];
    const { url, adminUrl } = await start();
    const ready = (await (await fetch(`${adminUrl}/ready`)).json()) as { discovery: Array<{ state: string }> };
    expect(["starting", "failing"]).toContain(ready.discovery[0].state);
    writeList([replicas[0].address]);
    await expect.poll(() => repliesFrom(url, 2).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));
  });
});
