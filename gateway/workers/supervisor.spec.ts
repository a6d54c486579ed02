import cluster from "node:cluster";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Supervisor, type SupervisorOptions } from "./supervisor.js";
import type { ToWorker } from "./messages.js";

// Real worker processes (node:cluster) running a stand-in that speaks the
// protocol without a gateway behind it: test/workers/stand-in-worker.mjs.

const STAND_IN = fileURLToPath(new URL("../../test/workers/stand-in-worker.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "switchyard-supervisor-"));
/** While this file exists, new stand-ins exit at once. */
const crashFile = join(dir, "crash");
let running: Supervisor | undefined;
afterEach(async () => {
  if (existsSync(crashFile)) rmSync(crashFile);
  await running?.stop(2000);
  running = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = { type: "switchyard:start" } as unknown as ToWorker;

function supervisor(mode: "serve" | "fail" | "deaf", count: number, over: Partial<SupervisorOptions> = {}) {
  cluster.setupPrimary({ exec: STAND_IN, args: [mode, crashFile], silent: true });
  const events: string[] = [];
  const s = new Supervisor({
    count,
    startMessage: () => start,
    onMessage: () => {},
    onServing: (id) => events.push(`serving ${id}`),
    onExit: (id) => events.push(`exit ${id}`),
    log: (m) => events.push(m),
    gate: async () => {},
    ...over,
  });
  running = s;
  return { s, events };
}

async function until<T>(what: string, f: () => T | undefined, ms = 20_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("Supervisor", { timeout: 60_000 }, () => {
  it("starts every worker; one that is killed is replaced at once and started like the others", async () => {
    const { s, events } = supervisor("serve", 2);
    await s.start();
    expect(s.list().map((w) => w.state)).toEqual(["serving", "serving"]);
    expect(s.targets()).toHaveLength(2);
    const [victim] = s.list();
    process.kill(victim!.pid, "SIGKILL");
    const replacement = await until("a replacement serves", () =>
      s.list().find((w) => w.id > 2 && w.state === "serving"),
    );
    expect(events).toContain(`exit ${victim!.id}`);
    expect(events).toContain(`worker ${victim!.id} (pid ${victim!.pid}) was killed by SIGKILL; replacing it`);
    expect(events).toContain(`serving ${replacement.id}`);
    expect(s.list()).toHaveLength(2);
  });

  it("a worker that cannot start fails the start, with its reason, and the others are stopped", async () => {
    const { s } = supervisor("fail", 2);
    await expect(s.start()).rejects.toThrow("cannot serve");
    await until("no worker left", () => (s.list().length === 0 ? true : undefined));
  });

  it("replacements that die before serving are restarted with growing delays, and serve once they can", async () => {
    const { s, events } = supervisor("serve", 1);
    await s.start();
    writeFileSync(crashFile, "");
    process.kill(s.list()[0]!.pid, "SIGKILL");
    await until("two restarts with backoff", () =>
      events.some((e) => e.endsWith("replacing it in 400 ms")) ? true : undefined,
    );
    expect(events.filter((e) => / exited with code 1; replacing it in \d+ ms$/.test(e)).slice(0, 2)).toEqual([
      expect.stringMatching(/in 200 ms$/),
      expect.stringMatching(/in 400 ms$/),
    ]);
    rmSync(crashFile);
    await until("serving again", () => s.list().find((w) => w.state === "serving"));
  });

  it("ask() collects every worker's answer; one that never answers has none after the timeout", async () => {
    const { s } = supervisor("serve", 2);
    await s.start();
    const answers = await s.ask((seq) => ({ type: "switchyard:report", seq }), 5000);
    expect([...answers.values()].map((a) => a?.type)).toEqual(["switchyard:report", "switchyard:report"]);
    await s.stop(2000);
    let told = false;
    const deaf = supervisor("deaf", 1, {
      startMessage: () => {
        told = true;
        return start;
      },
    }).s;
    void deaf.start().catch(() => {});
    // It said hello and was sent its start message, but never serves or answers.
    await until("the deaf worker is told to start", () => (told ? true : undefined));
    const none = await deaf.ask((seq) => ({ type: "switchyard:report", seq }), 300);
    expect([...none.values()]).toEqual([undefined]);
    const pid = deaf.list()[0]!.pid;
    // stop(): SIGTERM, ignored, then SIGKILL once the time is up.
    await deaf.stop(300);
    expect(alive(pid)).toBe(false);
  });
});
