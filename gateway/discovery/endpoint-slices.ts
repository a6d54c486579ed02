import type { EndpointConfig } from "../config/types.js";
import { endpointList } from "./endpoint-list.js";

/** The parts of a discovery.k8s.io/v1 EndpointSlice the gateway reads. */
export interface EndpointSlice {
  metadata?: { name?: string; resourceVersion?: string };
  addressType?: string;
  ports?: Array<{ name?: string | null; port?: number | null }> | null;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } | null }> | null;
}

/**
 * The ready endpoints of a Service's slices, on `port` (the port's name in
 * the slices, or its number), one per address, each once however many
 * slices name it (an endpoint can sit in two slices while the controller
 * moves it), sorted. Per the API: an unset `ready` counts as ready; every
 * address of an endpoint is the same backend, so the first one is taken; a
 * slice without ports serves every port, so it takes a numbered `port` as
 * it is (a named one cannot be resolved there). A slice that lacks the port
 * adds nothing.
 */
export function sliceEndpoints(
  slices: Iterable<EndpointSlice>,
  port: string | number,
  source: string,
): EndpointConfig[] {
  const addresses = new Set<string>();
  for (const slice of slices) {
    const number = portOf(slice, port);
    if (number === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (ip === undefined || e.conditions?.ready === false) continue;
      addresses.add(ip.includes(":") ? `[${ip}]:${number}` : `${ip}:${number}`);
    }
  }
  return endpointList([...addresses].sort(), source);
}

function portOf(slice: EndpointSlice, port: string | number): number | undefined {
  const ports = slice.ports ?? [];
  if (ports.length === 0) return typeof port === "number" ? port : undefined;
  const found = ports.find((p) => (typeof port === "number" ? p.port === port : (p.name ?? "") === port));
  return found?.port ?? undefined;
}
