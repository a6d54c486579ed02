// Child processes of the benchmark and what /proc says about them.
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const READY = /listening on \S*:(\d+)/;

/** Every process the harness started and has not stopped yet, for cleanup on exit. */
const live = new Set();

/**
 * Starts a long-running child (upstream, gateway, peer). Its output goes to
 * `logFile`. Resolves once it prints "listening on HOST:PORT" (or, with
 * `port` given, once that port accepts connections).
 */
export async function startProcess(name, command, args, { cwd, env, logFile, port, timeoutMs = 60_000 } = {}) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logFile, { flags: "a" });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const proc = {
    name,
    pid: child.pid,
    port,
    child,
    logFile,
    exited,
    alive: true,
    async stop(signal = "SIGTERM") {
      if (!proc.alive) return;
      child.kill(signal);
      const done = await Promise.race([exited, sleep(5000, undefined, { ref: false }).then(() => undefined)]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
  live.add(proc);
  exited.then(() => {
    proc.alive = false;
    live.delete(proc);
  });
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      log.write(chunk);
      if (proc.port !== undefined) return;
      output += chunk.toString();
      const m = READY.exec(output);
      if (m) {
        proc.port = Number(m[1]);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => log.write(chunk));
    child.once("error", reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready; see ${logFile}`)),
    );
    if (port !== undefined) waitForPort(port, timeoutMs).then(resolve, reject);
  });
  const timer = sleep(timeoutMs, undefined, { ref: false }).then(() => {
    throw new Error(`${name} was not ready within ${timeoutMs / 1000}s; see ${logFile}`);
  });
  try {
    await Promise.race([ready, timer]);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw err;
  }
  return proc;
}

/** Stops every child still running (in parallel). */
export async function stopAll() {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Runs a command to completion and returns its output (a load tool, a build step). */
export function run(command, args, { cwd, env, timeoutMs = 600_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

export async function waitForPort(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs / 1000}s`);
    await sleep(100);
  }
}

/** A port that was free a moment ago (for nginx, whose config needs one up front). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---- /proc ---------------------------------------------------------------

function statFields(pid) {
  // The command name is in parentheses and may contain spaces; fields start after it.
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** pid and all its descendants (nginx: master and worker). */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(statFields(entry)[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux; checked by tools.mjs

/** utime + stime of the given processes, in clock ticks. */
export function cpuTicks(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      const f = statFields(pid);
      sum += Number(f[11]) + Number(f[12]); // fields 14 and 15 of /proc/PID/stat
    } catch {
      // exited
    }
  }
  return sum;
}

/** CPU time of this process's reaped children (the load tools), in ticks. */
export function reapedChildrenTicks() {
  const f = statFields(process.pid);
  return Number(f[13]) + Number(f[14]); // cutime + cstime
}

export function selfTicks() {
  const f = statFields(process.pid);
  return Number(f[11]) + Number(f[12]);
}

/** Machine-wide busy and total ticks, summed over all CPUs. */
export function machineTicks() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function statusKb(pid, key) {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set size now, summed over the processes, in KiB. */
export const rssKb = (pids) => pids.reduce((s, p) => s + statusKb(p, "VmRSS"), 0);
/** Peak resident set size (since start or the last resetPeakRss), summed, in KiB. */
export const peakRssKb = (pids) => pids.reduce((s, p) => s + statusKb(p, "VmHWM"), 0);

/** Resets VmHWM to the current RSS (Linux: write 5 to clear_refs). False if not allowed. */
export function resetPeakRss(pids) {
  try {
    for (const p of pids) writeFileSync(`/proc/${p}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}
