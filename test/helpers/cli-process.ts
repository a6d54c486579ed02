import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../bin/switchyard.js", import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match in stdout; rejects if the process exits first or on timeout. */
  waitForStdout(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process exits; rejects after timeoutMs (the process is then killed). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (for afterEach). */
  kill(): void;
}

/** Runs `node bin/switchyard.js ...args` from the repo root, as a user would. */
export function spawnCli(args: string[]): CliProcess {
  const env = { ...process.env };
  delete env.PORT; // would override the listener port
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  // 'exit' can come before the pipes drain; 'close' waits for them.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const describe = () => `stdout:\n${out}\nstderr:\n${err}`;

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStdout(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const onExit = () => {
          setImmediate(() => {
            const m = out.match(re);
            cleanup();
            if (m) resolve(m);
            else reject(new Error(`switchyard exited (code ${child.exitCode}) before printing ${re}\n${describe()}`));
          });
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} on stdout within ${timeoutMs} ms\n${describe()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout!.off("data", check);
          child.off("exit", onExit);
        };
        child.stdout!.on("data", check);
        child.once("exit", onExit);
        check();
      });
    },
    async exited(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`switchyard did not exit within ${timeoutMs} ms\n${describe()}`));
        }, timeoutMs);
      });
      try {
        const r = await Promise.race([exit, timeout]);
        await closed;
        return r;
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
