import type { ServerResponse } from "node:http";
import type { CorsConfig } from "../config/types.js";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";

// With credentials, browsers take the "*" here as a header literally named
// "*" (Fetch standard): such pages see only the names listed.
const EXPOSED = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-encoding",
  "connect-content-encoding",
  "content-encoding",
  "*",
].join(", ");

const ALLOWED_METHODS = "POST, GET, OPTIONS";
const DEFAULT_ALLOWED_HEADERS =
  "content-type, connect-protocol-version, connect-timeout-ms, connect-content-encoding, connect-accept-encoding, grpc-timeout, grpc-encoding, grpc-accept-encoding, x-grpc-web, x-user-agent";

export class Cors {
  private readonly any: boolean;
  private readonly origins: Set<string>;
  private readonly credentials: boolean;

  /** The config never pairs allowCredentials with "*" (config/semantics.ts); the origin is echoed either way, never "*". */
  constructor(config: CorsConfig) {
    this.any = config.allowedOrigins.includes("*");
    this.origins = new Set(config.allowedOrigins);
    this.credentials = config.allowCredentials;
  }

  private allowed(origin: string | undefined): origin is string {
    return origin !== undefined && (this.any || this.origins.has(origin));
  }

  /** Answers a preflight; returns false when the request is not one. */
  preflight(req: ServerRequest, res: ServerResponseLike): boolean {
    if (req.method !== "OPTIONS") return false;
    const origin = req.headers.origin;
    if (!this.allowed(origin)) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end(
        origin
          ? `origin ${origin} is not in cors.allowedOrigins\n`
          : "OPTIONS without an Origin header is not a CORS preflight\n",
      );
      return true;
    }
    const headers: Record<string, string> = {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": req.headers["access-control-request-headers"] ?? DEFAULT_ALLOWED_HEADERS,
      "access-control-max-age": "7200",
      vary: "Origin",
    };
    if (this.credentials) headers["access-control-allow-credentials"] = "true";
    res.writeHead(204, headers);
    (res as ServerResponse).end();
    return true;
  }

  /** Adds CORS headers to an actual response, errors included. */
  decorate(req: ServerRequest, res: ServerResponseLike): void {
    const origin = req.headers.origin;
    if (!this.allowed(origin)) return;
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", EXPOSED);
    if (this.credentials) res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("vary", "Origin");
  }
}
