// Issue 13: the dashboard in real Chromium (test/browser/chromium.ts) against
// a real gateway in front of replica processes: it shows each endpoint live,
// a killed replica turns unhealthy with its breaker open within seconds, and
// its drain button drains another, which calls then avoid. A screenshot of
// the end state goes to test-artifacts/dashboard.png.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { launchChromium } from "../browser/chromium.js";
import { spawnReplica, type ReplicaProcess } from "../chaos/replica-process.js";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { BreakerState, EndpointState } from "../../gen/switchyard/admin/v1/admin_pb.js";
import { type AdminScene, echoConfig, endpointOf, startAdminScene, waitFor } from "./admin-scene.js";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

let browser: Browser | undefined;
let page: Page;
let scene: AdminScene | undefined;
let replicas: ReplicaProcess[] = [];
const pageErrors: string[] = [];
let setupError: unknown;

beforeAll(async () => {
  try {
    // Chromium first: when it is missing, say so before anything else starts.
    browser = await launchChromium();
    replicas = await Promise.all(["r1", "r2", "r3"].map((name) => spawnReplica(name)));
    scene = await startAdminScene(
      echoConfig(
        replicas.map((r) => r.address),
        {
          // Health checks take a dead replica out after three misses a second
          // apart; the breaker opens at its first failures (at least 1% of at
          // least 3 attempts), so the killed replica's row shows both, in
          // whatever order a busy machine lets them happen. A long reset keeps
          // the breaker open while the test looks.
          healthCheck: { interval: "1s", timeout: "1s", unhealthyThreshold: 3, healthyThreshold: 2 },
          circuitBreaker: { errorThresholdPercentage: 1, volumeThreshold: 3, resetTimeout: "60s" },
          outlierDetection: false,
        },
      ),
    );
    const home = await fetch(`${scene.admin}/`);
    if (home.status !== 200) throw new Error(`the dashboard is not served (${home.status}): ${await home.text()}`);
    page = await browser.newPage({ viewport: { width: 1400, height: 640 } });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(`${scene.admin}/`);
  } catch (err) {
    setupError = err;
  }
}, 60_000);

// A setup failure (above all a missing Chromium) fails every test with its
// message rather than leaving them counted as skipped.
beforeEach(() => {
  if (setupError) throw setupError;
});

afterAll(async () => {
  await browser?.close();
  await scene?.close();
  await Promise.all(replicas.map((r) => r.kill()));
});

const row = (address: string) => `section[data-cluster="echo"] tr[data-address="${address}"]`;

/** Waits (bounded) until the row of `address` shows `state` and `breaker`; fails with what it shows instead. */
async function rowShows(address: string, want: { state?: string; breaker?: string }, timeoutMs = 10_000) {
  try {
    await page.waitForFunction(
      ({ sel, want }) => {
        const tr = document.querySelector<HTMLElement>(sel);
        if (!tr) return false;
        return (
          (!want.state || tr.dataset.state === want.state) && (!want.breaker || tr.dataset.breaker === want.breaker)
        );
      },
      { sel: row(address), want },
      { timeout: timeoutMs, polling: 100 },
    );
  } catch {
    const shown = await page
      .locator(row(address))
      .evaluate((tr: HTMLElement) => ({ ...tr.dataset, text: tr.innerText }))
      .catch((e: Error) => e.message);
    throw new Error(
      `row ${address} did not show ${JSON.stringify(want)} within ${timeoutMs} ms; it shows ${JSON.stringify(shown)}` +
        `; gateway events:\n  ${scene?.events.join("\n  ")}` +
        (pageErrors.length ? `; page errors: ${pageErrors.join("; ")}` : ""),
    );
  }
}

/** Echo calls in the background until stopped (at most 60 s), two at a time. */
function load(s: AdminScene) {
  const client = createClient(EchoService, createGrpcTransport({ baseUrl: s.url }));
  const answered = new Map<string, number>();
  const failures: string[] = [];
  let stop = false;
  const until = performance.now() + 60_000;
  const worker = async () => {
    while (!stop && performance.now() < until) {
      try {
        const r = await client.echo({ message: "x" });
        answered.set(r.replica, (answered.get(r.replica) ?? 0) + 1);
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  const running = Promise.all([worker(), worker()]);
  return {
    answered,
    failures,
    async stop() {
      stop = true;
      await running;
    },
  };
}

describe("the admin dashboard", () => {
  it("lists every endpoint of the cluster, healthy, with a drain button each", async () => {
    for (const r of replicas) await rowShows(r.address, { state: "healthy", breaker: "closed" });
    const rows = await page
      .locator('section[data-cluster="echo"] tr[data-address]')
      .evaluateAll((trs) =>
        trs.map((tr) => [(tr as HTMLElement).dataset.address, tr.querySelector("button")?.textContent]),
      );
    expect(rows).toEqual(replicas.map((r) => [r.address, "Drain"]));
  });

  it("shows a killed replica unhealthy with its breaker open, and a drained one draining, which calls then avoid", async () => {
    const s = scene!;
    const [r1, r2, r3] = replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
    const traffic = load(s);
    try {
      await waitFor("the load reaches every replica", async () => traffic.answered.size === 3, 15_000);
      s.mark(`kill -9 r1 (${r1.address})`);
      await r1.kill("SIGKILL");
      await rowShows(r1.address, { state: "unhealthy", breaker: "open" }, 15_000);
      expect(await endpointOf(s.grpc, r1.address)).toMatchObject({
        state: EndpointState.UNHEALTHY,
        breaker: BreakerState.OPEN,
      });

      s.mark("click Drain on r2");
      await page.locator(`${row(r2.address)} button`).click();
      await rowShows(r2.address, { state: "draining" }, 5_000);
      expect(await page.locator(`${row(r2.address)} button`).textContent()).toBe("Undrain");
      expect(await endpointOf(s.grpc, r2.address)).toMatchObject({ drained: true, state: EndpointState.DRAINING });

      // Once r2's calls in flight are done, it gets no new ones: its own count stands still while r3's grows.
      await waitFor("r2's calls in flight done", async () => (await endpointOf(s.grpc, r2.address)).inFlight === 0);
      const [r2Before, r3Before] = [(await r2.stats()).calls.Echo, (await r3.stats()).calls.Echo];
      await waitFor("r3 answering more calls", async () => (await r3.stats()).calls.Echo > r3Before + 20, 10_000);
      expect((await r2.stats()).calls.Echo).toBe(r2Before);

      // The healthy replica's row shows live calls, and the cluster chart has points.
      await page.waitForFunction(
        (sel) => Number(document.querySelector(sel)?.querySelectorAll("td")[6]?.textContent) > 0,
        row(r3.address),
        { timeout: 5_000, polling: 100 },
      );
      const points = await page
        .locator('section[data-cluster="echo"] svg.chart polyline')
        .first()
        .getAttribute("points");
      expect(points?.split(" ").length).toBeGreaterThan(1);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    } finally {
      await traffic.stop();
    }
    // The kill and the drain cost no call: each failed attempt on r1 was tried again elsewhere.
    expect(traffic.failures).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("puts a drained endpoint back with its Undrain button", async () => {
    const r2 = replicas[1]!;
    await page.locator(`${row(r2.address)} button`).click();
    await rowShows(r2.address, { state: "healthy" }, 5_000);
    expect((await endpointOf(scene!.grpc, r2.address)).drained).toBe(false);
  });
});
