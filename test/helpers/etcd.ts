import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

// A real single-member etcd on loopback for discovery tests: its own
// temporary data dir and free ports, so tests never meet a developer's etcd.

export const INSTALL_HINT =
  "install it with `apt-get update && apt-get install -y etcd-server` (`npm test` does this first when run as root: test/setup/ensure.mjs)";

/** `which etcd`, without a shell. */
export function findEtcd(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "etcd"), constants.X_OK);
      return join(dir, "etcd");
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface EtcdServer {
  /** The client URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly dataDir: string;
  /** SIGKILL, like a crash; the data dir stays for restart(). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir; resolves once it answers. */
  restart(): Promise<void>;
  /** Kills it and removes the data dir. */
  stop(): Promise<void>;
  /** What etcd logged, for failure messages. */
  log(): string;
}

/**
 * Starts etcd or throws. A missing etcd fails the etcd tests rather than
 * skipping them, in CI (CI=true) and locally alike: a skipped suite looks
 * green and hides that nothing ran (as test/browser/chromium.ts does).
 */
export async function startEtcd(): Promise<EtcdServer> {
  const bin = findEtcd();
  if (!bin) {
    const where = process.env.CI === "true" ? "CI machine" : "machine";
    throw new Error(`etcd is not on PATH on this ${where}, so the etcd tests cannot run: ${INSTALL_HINT}`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-etcd-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name",
    "test",
    "--data-dir",
    join(dataDir, "data"),
    "--listen-client-urls",
    url,
    "--advertise-client-urls",
    url,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    `test=${peer}`,
    "--logger",
    "zap",
    "--log-level",
    "warn",
  ];
  let child: ChildProcess | undefined;
  let output = "";

  async function launch(): Promise<void> {
    const c = spawn(bin!, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    for (const s of [c.stdout!, c.stderr!])
      s.setEncoding("utf8").on("data", (d: string) => (output = (output + d).slice(-20_000)));
    const exited = new Promise<never>((_, reject) =>
      c.once("exit", (code, signal) =>
        reject(new Error(`etcd exited (${code ?? signal}) before answering:\n${output}`)),
      ),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 15_000;
    for (;;) {
      const healthy = await Promise.race([health(url), exited]);
      if (healthy) return;
      if (Date.now() > deadline) throw new Error(`etcd did not answer on ${url} within 15 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGKILL");
    await gone;
  }

  try {
    await launch();
  } catch (err) {
    await kill();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    dataDir,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

async function health(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

/** A port nothing listens on right now (the OS's pick, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
