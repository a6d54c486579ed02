export interface HostPort {
  host: string;
  port: number;
}

// IPv6 literals must be bracketed: without brackets "::1:50051" has no
// unambiguous split between host and port.
const HOST_PORT = /^(?:\[([^\]\s]+)\]|([^\s:[\]/]+)):([0-9]+)$/;

/**
 * Splits "host:port" (or "[v6]:port"). Returns undefined when the shape is
 * wrong; the port is returned as written, range checks are the caller's.
 */
export function parseHostPort(address: string): HostPort | undefined {
  const m = HOST_PORT.exec(address);
  if (!m) return undefined;
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
