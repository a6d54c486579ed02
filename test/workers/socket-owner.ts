import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/**
 * The process that holds the server side of a loopback TCP connection: the
 * gateway worker serving it. Read from Linux's /proc, as `ss -tnp` does: the
 * socket's inode from /proc/net/tcp (local port `serverPort`, remote port
 * `clientPort`), then the pid among `pids` with a file descriptor on it.
 * With node:cluster's round-robin the primary accepts, hands the socket to
 * a worker and closes its own copy, so exactly one worker holds it.
 */
export function socketOwner(serverPort: number, clientPort: number, pids: readonly number[]): number | undefined {
  const inode = serverInode(serverPort, clientPort);
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** The pids among `pids` that hold a socket listening on `port` (TCP state 0A), each once per socket. */
export function listeningOwners(port: number, pids: readonly number[]): number[] {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && f[1]!.endsWith(`:${hex}`) && f[3] === "0A")
    .map((f) => `socket:[${f[9]}]`);
  const owners: number[] = [];
  for (const target of inodes) {
    for (const pid of pids) {
      let fds: string[] = [];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      if (fds.some((fd) => linkOf(`/proc/${pid}/fd/${fd}`) === target)) owners.push(pid);
    }
  }
  return owners.sort();
}

function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function serverInode(serverPort: number, clientPort: number): string | undefined {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [, local, remote] = f;
    if (local!.endsWith(`:${hex(serverPort)}`) && remote!.endsWith(`:${hex(clientPort)}`) && f[9] !== "0") return f[9];
  }
  return undefined;
}

/** The primary's child processes (its workers), from /proc. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
