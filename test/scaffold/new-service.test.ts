import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers/cli-process.js";
import { grpcurl, requireTools } from "../reflection/upstream.js";

// `switchyard new-service` as a new user runs it: in a copy of the checkout
// (its own proto/, gen/, services/; node_modules linked), then the test it
// wrote, then its replica and a gateway configured with the snippet it
// printed, called with JSON and grpcurl. Nothing here writes into the repo.

const NAME = "acme.billing.v1.BillingService";
let root: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  requireTools();
  root = mkdtempSync(join(tmpdir(), "switchyard-scaffold-"));
  for (const d of ["bin", "gateway", "gen", "proto", "schema", "services", "test/helpers"]) {
    cpSync(join(REPO_ROOT, d), join(root, d), { recursive: true });
  }
  for (const f of ["buf.gen.yaml", "buf.yaml", "package.json", "tsconfig.json", "vitest.config.ts"]) {
    cpSync(join(REPO_ROOT, f), join(root, f));
  }
  cpSync(join(REPO_ROOT, "test/summary-reporter.ts"), join(root, "test/summary-reporter.ts"));
  symlinkSync(realpathSync(join(REPO_ROOT, "node_modules")), join(root, "node_modules"));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (root) rmSync(root, { recursive: true, force: true });
});

/** `npx switchyard ...` in the copy (bin/switchyard.js runs the TypeScript when there is no dist/). */
function switchyard(args: string[]) {
  return spawnSync(process.execPath, ["bin/switchyard.js", ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
}

function run(cmd: string, args: string[]) {
  const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
  return spawnSync(cmd, args, { cwd: root, env, encoding: "utf8", timeout: 180_000 });
}

/** Starts a long-running command in the copy; resolves with its first stdout match. */
function start(cmd: string, args: string[], ready: RegExp): Promise<RegExpMatchArray> {
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ready} within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", (c: string) => ((out += c), check()));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before ${ready}:\n${out}`));
    });
  });
}

// buf generate, tsc and a vitest run each take seconds, more on a loaded machine.
describe("switchyard new-service", { timeout: 180_000 }, () => {
  let printed = "";

  it("writes the proto, runs buf generate, writes the service and its test, and prints the config", () => {
    const r = switchyard(["new-service", NAME]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    printed = r.stdout;
    expect(printed).toContain(
      "Wrote proto/acme/billing/v1/billing.proto, services/billing/service.ts, services/billing/billing.test.ts, and ran buf generate.",
    );
    expect(printed).toContain("npm run replica -- --service billing --port 50061");
    const proto = readFileSync(join(root, "proto/acme/billing/v1/billing.proto"), "utf8");
    expect(proto).toMatch(
      /rpc GetItem\(GetItemRequest\) returns \(GetItemResponse\) \{\n\s+option idempotency_level = NO_SIDE_EFFECTS;/,
    );
    expect(proto).toMatch(/rpc CreateItem\(CreateItemRequest\) returns \(CreateItemResponse\);/);
    expect(existsSync(join(root, "gen/acme/billing/v1/billing_pb.ts"))).toBe(true);
    // The written code type-checks against the checkout it was written into.
    writeFileSync(
      join(root, "tsconfig.billing.json"),
      JSON.stringify({ extends: "./tsconfig.json", include: ["services/billing", "gateway/**/*.d.ts"] }),
    );
    const tsc = run(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.billing.json"]);
    expect(tsc.stdout + tsc.stderr).toBe("");
  });

  it("writes a test that passes: the new service through a gateway over gRPC and Connect JSON", () => {
    const r = run(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "services/billing"]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Tests\s+2 passed \(2\)/);
  });

  it("runs as printed: the replica hosts it and a gateway with the snippet learns it by reflection", async () => {
    const [, replicaAddress] = await start(
      process.execPath,
      ["node_modules/tsx/dist/cli.mjs", "services/cli.ts", "--service", "billing", "--port", "0", "--name", "b1"],
      /listening on (127\.0\.0\.1:\d+)/,
    );
    // The printed YAML, with the replica's real port and a listener added.
    const yaml = printed.slice(printed.indexOf("clusters:"), printed.indexOf("\nCall it"));
    const config = parse(yaml) as { clusters: { billing: { endpoints: string[] } } };
    expect(config.clusters.billing).toEqual({
      protocol: "grpc",
      descriptors: "reflection",
      endpoints: ["127.0.0.1:50061"],
    });
    config.clusters.billing.endpoints = [replicaAddress];
    writeFileSync(
      join(root, "gateway.yaml"),
      JSON.stringify({ listeners: [{ port: 0, host: "127.0.0.1" }], ...config }),
    );
    const [, port] = await start(
      process.execPath,
      ["bin/switchyard.js", "--config", "gateway.yaml"],
      /switchyard listening on port (\d+)/,
    );
    const target = `127.0.0.1:${port}`;
    await expect
      .poll(
        async () => {
          const res = await fetch(`http://${target}/${NAME}/CreateItem`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: '{"name":"first"}',
          });
          return res.json();
        },
        { timeout: 15_000, interval: 250 },
      )
      .toEqual({ item: { id: "b1-1", name: "first" }, replica: "b1" });
    const described = await grpcurl(target, ["describe", NAME]);
    expect(described.stdout).toContain(
      "rpc GetItem ( .acme.billing.v1.GetItemRequest ) returns ( .acme.billing.v1.GetItemResponse ) {",
    );
    expect(described.stdout).toContain("option idempotency_level = NO_SIDE_EFFECTS;");
  });

  it("never overwrites, and explains a bad name", () => {
    const before = readFileSync(join(root, "services/billing/service.ts"), "utf8");
    const again = switchyard(["new-service", NAME]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(
      "switchyard new-service: proto/acme/billing/v1/billing.proto already exists and is never overwritten: choose another name, or remove it first\n",
    );
    expect(readFileSync(join(root, "services/billing/service.ts"), "utf8")).toBe(before);
    const bad = switchyard(["new-service", "acme.billing.BillingService"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/must be a name followed by a version such as v1/);
    // Another service whose folder is taken is refused before anything is written.
    const taken = switchyard(["new-service", "other.billing.v1.LedgerService"]);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toMatch(/services\/billing already exists/);
    expect(existsSync(join(root, "proto/other"))).toBe(false);
  });
});
