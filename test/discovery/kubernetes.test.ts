import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KUBE_APISERVER } from "../kubernetes/control-plane.js";
import { unshareCommand } from "../kubernetes/network-namespace.js";
import type { ScenarioResult } from "../kubernetes/scenario.js";

// A cluster whose endpoints come from a Service's EndpointSlices in a real
// kube-apiserver (built into .cache/bin by the setup step of npm test) over
// etcd. The API server refuses slice addresses in 127.0.0.0/8, so everything
// runs in a network namespace of its own (test/kubernetes/scenario.ts), and
// this test asserts on what each step saw.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function runScenario(
  dir: string,
): Promise<{ result: ScenarioResult | undefined; code: number | null; stderr: string }> {
  const [command, ...args] = unshareCommand([process.execPath, "--import", "tsx", "test/kubernetes/scenario.ts", dir]);
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    if (process.env.SWITCHYARD_K8S_VERBOSE) process.stderr.write(c);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 280_000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({
        result: line ? (JSON.parse(line.slice("RESULT ".length)) as ScenarioResult) : undefined,
        code,
        stderr,
      });
    });
  });
}

describe("discovery: kubernetes", () => {
  it(
    "follows a Service's EndpointSlices in a real API server: added, not ready, deleted, the API server gone and back (410 Gone)",
    { timeout: 300_000 },
    async () => {
      // Never a skip: the setup step of npm test builds it, and fails under CI=true when it cannot.
      expect(
        existsSync(KUBE_APISERVER),
        `${KUBE_APISERVER} is missing: run test/kubernetes/build-apiserver.sh (needs Go), or npm test's setup step`,
      ).toBe(true);
      const dir = mkdtempSync(join(tmpdir(), "switchyard-k8s-"));
      try {
        const { result, code, stderr } = await runScenario(dir);
        const context = `scenario exited ${code}; its log:\n${stderr.slice(-6000)}`;
        expect(result, context).toBeDefined();
        const r = result as ScenarioResult;
        // Each step in order: the scenario stops at the first one not met (r.error, checked last, says why).
        const saw = (name: string) => r.steps[name]?.saw;

        // Ready endpoints of the Service's slices (ready left out counts), nothing from other Services.
        expect(saw("created"), context).toEqual(["r1", "r2"]);
        expect(saw("watchReopened"), context).toBe(true);
        expect(saw("notReady"), context).toEqual(["r1"]);
        expect(saw("secondSlice"), context).toEqual(["r1", "r3"]);
        expect(saw("sliceDeleted"), context).toEqual(["r1"]);
        // The API server stopped: failing, the last set kept and still served.
        expect(saw("apiserverStopped"), context).toEqual({ state: "failing", endpoints: 1 });
        expect(saw("lastSetKept"), context).toEqual(["r1"]);
        expect(saw("failingError"), context).toMatch(/192\.0\.2\.1:6443|connection lost|ECONNREFUSED/);
        // Back: the old watch's resourceVersion is gone from the new server's cache (410), so it lists again.
        expect(saw("recovered"), context).toEqual({ state: "ok", endpoints: 1 });
        expect(saw("afterRestart"), context).toEqual(["r1", "r2"]);
        expect(r.steps.providerAfterRestart?.ok, context).toBe(true);
        expect(r.error, context).toBeUndefined();
        const afterStop = r.trace.slice(r.trace.findIndex((l) => l.includes("failed:")));
        expect(
          afterStop.some((l) => l.includes("expired (410 Gone), listing again")),
          `trace:\n${r.trace.join("\n")}`,
        ).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
