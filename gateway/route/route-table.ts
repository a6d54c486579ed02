import type { RouteConfig } from "../config/types.js";

export interface Route {
  cluster: string;
  timeoutMs: number | undefined;
  /** Its place in the config's routes: what per-route state (its auth) is kept by. */
  index: number;
  /** What the route's match names by itself: a whole method, a service, or nothing (a prefix). Metrics label only named things. */
  names: "method" | "service" | undefined;
}

type Matcher = (path: string) => boolean;

/** Envoy-style: routes are tried in order and the first match wins. */
export class RouteTable {
  private readonly entries: Array<{ test: Matcher; route: Route }>;
  private readonly cache = new Map<string, Route | null>();

  constructor(routes: RouteConfig[]) {
    this.entries = routes.map((r, index) => ({
      test: matcher(r.match),
      route: { cluster: r.cluster, timeoutMs: r.timeoutMs, index, names: namesOf(r.match) },
    }));
  }

  match(path: string): Route | undefined {
    let hit = this.cache.get(path);
    if (hit === undefined) {
      hit = this.entries.find((e) => e.test(path))?.route ?? null;
      // Paths come from clients; cap what an attacker can make us remember.
      if (this.cache.size < 10_000) this.cache.set(path, hit);
    }
    return hit ?? undefined;
  }
}

function namesOf(m: RouteConfig["match"]): Route["names"] {
  return "method" in m ? "method" : "service" in m ? "service" : undefined;
}

/** Whether a path is covered by a match (routes and rate limits match alike). */
export function matcher(m: RouteConfig["match"]): Matcher {
  if ("method" in m) return (p) => p === m.method;
  if ("service" in m) {
    const prefix = `/${m.service}/`;
    return (p) => p.startsWith(prefix);
  }
  return (p) => p.startsWith(m.prefix);
}
