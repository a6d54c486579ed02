import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { EchoStats } from "./stats.js";

// connect-node does not export its handler type by name; this is the same one.
type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

/**
 * Serves `GET /stats` next to the RPCs, on the same port, so tests and the
 * demo can see per-replica traffic without speaking gRPC. Anything else that
 * is not an RPC route gets a plain 404.
 */
export function createStatsFallback(name: string, stats: EchoStats): NodeHandlerFn {
  return (req, res) => {
    const path = new URL(req.url ?? "/", "http://replica").pathname;
    if (path !== "/stats" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    const body = JSON.stringify({ name, calls: stats.calls, writes: stats.writes });
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      // Stats change with every call; a cached copy would mislead.
      "cache-control": "no-store",
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}
