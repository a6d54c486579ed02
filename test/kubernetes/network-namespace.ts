import { execFileSync } from "node:child_process";

// The API server refuses EndpointSlice addresses in 127.0.0.0/8, so the
// Kubernetes tests run in a network namespace of their own where TEST-NET-1
// addresses (192.0.2.0/24, RFC 5737) sit on the loopback interface: replicas
// bind them, slices name them, and no packet leaves the namespace.

/**
 * The command that runs `argv` in a new network namespace (a user namespace
 * too when not root), and with `mount`, a mount namespace of its own as well
 * (mounts made inside, such as a pod's service-account folder, stay there).
 */
export function unshareCommand(argv: string[], options: { mount?: boolean } = {}): string[] {
  const asRoot = process.getuid?.() === 0;
  const flags = [...(asRoot ? [] : ["--map-root-user"]), "--net", ...(options.mount ? ["--mount"] : [])];
  return ["unshare", ...flags, "--", ...argv];
}

/** Inside the namespace: brings lo up and gives it `addresses` (/32 each). */
export function setUpLoopback(addresses: string[]): void {
  execFileSync("ip", ["link", "set", "lo", "up"]);
  for (const a of addresses) execFileSync("ip", ["addr", "add", `${a}/32`, "dev", "lo"]);
}
