import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

// A real redis-server on loopback for the shared rate limit tests: a free
// port, a temporary working dir and no persistence, so tests never meet a
// developer's Redis and leave nothing behind.

export const INSTALL_HINT =
  "install it with `apt-get update && apt-get install -y redis-server` (`npm test` does this first when run as root: test/setup/ensure.mjs)";

function findRedis(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "redis-server"), constants.X_OK);
      return join(dir, "redis-server");
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  /** Kills it and removes its dir. */
  stop(): Promise<void>;
  log(): string;
}

/** Starts redis-server or throws (a missing one fails the tests, never skips them; as etcd.ts). */
export async function startRedis(): Promise<RedisServer> {
  const bin = findRedis();
  if (!bin) {
    const where = process.env.CI === "true" ? "CI machine" : "machine";
    throw new Error(`redis-server is not on PATH on this ${where}, so the Redis tests cannot run: ${INSTALL_HINT}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "switchyard-redis-"));
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--protected-mode",
    "no",
    "--loglevel",
    "warning",
  ];
  let output = "";
  const child: ChildProcess = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  for (const s of [child.stdout!, child.stderr!])
    s.setEncoding("utf8").on("data", (d: string) => (output = (output + d).slice(-20_000)));
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited (${code ?? signal}) before answering:\n${output}`)),
    ),
  );
  exited.catch(() => {});
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await gone;
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!(await Promise.race([ping(port), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

/** PING over a raw socket: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on("error", () => done(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      got += d.toString();
      if (got.includes("\r\n")) done(got.startsWith("+PONG"));
    });
  });
}

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
