/**
 * Whether this Node can bind one port from several processes with
 * SO_REUSEPORT (`reusePort` in listen options). Node 23.1 added it and 22.12
 * has it backported; Node 20 ignores the option, and node:cluster then hands
 * connections round-robin instead. libuv sets it only where the kernel
 * balances connections across the sockets (Linux 3.9+, FreeBSD 12+,
 * Solaris 11.4, AIX 7.2.5) and fails the listen with ENOTSUP elsewhere
 * (macOS, Windows), so the gateway asks for it only where this says yes.
 */
const PLATFORMS: readonly string[] = ["linux", "freebsd", "sunos", "aix"];

export function reusePortSupport(
  version: string = process.versions.node,
  platform: NodeJS.Platform = process.platform,
): { ok: true } | { ok: false; why: string } {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const nodeHasIt = major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  if (!nodeHasIt) return { ok: false, why: `Node ${version} has no reusePort (it needs 22.12+ or 23.1+)` };
  if (!PLATFORMS.includes(platform)) return { ok: false, why: `${platform} has no load-balancing SO_REUSEPORT` };
  return { ok: true };
}
