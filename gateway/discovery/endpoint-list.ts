import { isValidPort, parseHostPort } from "../config/address.js";
import { normalizeEndpoint } from "../config/normalize.js";
import type { EndpointConfig } from "../config/types.js";

/**
 * Endpoints as a provider found them, checked like the config's `endpoints`
 * (host:port, weight 1..1000, priority 0..10). Throws one error naming every
 * bad entry, so a half-broken source never half-empties a cluster.
 */
export function endpointList(raw: unknown, source: string): EndpointConfig[] {
  if (!Array.isArray(raw))
    throw new Error(`${source}: expected a list of endpoints ("host:port" or {address, weight, priority})`);
  const problems: string[] = [];
  const out: EndpointConfig[] = [];
  raw.forEach((e, i) => {
    const problem = endpointProblem(e);
    if (problem) problems.push(`[${i}]: ${problem}`);
    else out.push(normalizeEndpoint(e as string | { address: string; weight?: number; priority?: number }));
  });
  if (problems.length > 0) throw new Error(`${source}: ${problems.join("; ")}`);
  return out;
}

/** What is wrong with one entry as `endpoints` would take it, or undefined when nothing is. */
export function endpointProblem(e: unknown): string | undefined {
  const obj = typeof e === "object" && e !== null && !Array.isArray(e) ? (e as Record<string, unknown>) : undefined;
  const address = typeof e === "string" ? e : obj?.address;
  if (typeof address !== "string") return `${JSON.stringify(e)} must be "host:port" or a mapping with address`;
  const hp = parseHostPort(address);
  if (!hp || !isValidPort(hp.port)) return `${JSON.stringify(address)} is not host:port with a port 1-65535`;
  if (!obj) return undefined;
  for (const k of Object.keys(obj))
    if (!["address", "weight", "priority"].includes(k)) return `unknown key ${JSON.stringify(k)}`;
  if (obj.weight !== undefined && !isIntIn(obj.weight, 1, 1000))
    return `weight ${JSON.stringify(obj.weight)} must be a whole number 1-1000`;
  if (obj.priority !== undefined && !isIntIn(obj.priority, 0, 10))
    return `priority ${JSON.stringify(obj.priority)} must be a whole number 0-10`;
  return undefined;
}

function isIntIn(v: unknown, min: number, max: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}
