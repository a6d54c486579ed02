import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ReplicaProcess {
  name: string;
  port: number;
  address: string;
  child: ChildProcess;
  /** The replica's own counters, read over HTTP from its /stats. */
  stats(): Promise<{ calls: Record<string, number>; writes: number; cancelled: number }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** What the process wrote to stderr, for failure messages. */
  stderr(): string;
  /** What the process wrote to stdout so far (its log lines). */
  stdout(): string;
}

/**
 * A demo replica as its own OS process (`npm run replica`), so a test can
 * `kill -9` it like a crashing deployment. Fault flags go on the command line.
 */
export async function spawnReplica(name: string, flags: string[] = [], port = 0): Promise<ReplicaProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "services/cli.ts", "--port", String(port), "--name", name, ...flags],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  const boundPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`replica ${name} did not start within 15 s\n${out}\n${err}`)),
      15_000,
    );
    const check = () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited with ${code}\n${out}\n${err}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    port: boundPort,
    address: `127.0.0.1:${boundPort}`,
    child,
    async stats() {
      const res = await fetch(`http://127.0.0.1:${boundPort}/stats`);
      return (await res.json()) as { calls: Record<string, number>; writes: number; cancelled: number };
    },
    stderr: () => err,
    stdout: () => out,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
