import type { ServerResponse } from "node:http";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";

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

  constructor(allowedOrigins: string[]) {
    this.any = allowedOrigins.includes("*");
    this.origins = new Set(allowedOrigins);
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
      res.end(origin ? `origin ${origin} is not in cors.allowedOrigins\n` : "OPTIONS without an Origin header is not a CORS preflight\n");
      return true;
    }
    res.writeHead(204, {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": req.headers["access-control-request-headers"] ?? DEFAULT_ALLOWED_HEADERS,
      "access-control-max-age": "7200",
      vary: "Origin",
    });
    (res as ServerResponse).end();
    return true;
  }

  /** Adds CORS headers to an actual response, errors included. */
  decorate(req: ServerRequest, res: ServerResponseLike): void {
    const origin = req.headers.origin;
    if (!this.allowed(origin)) return;
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", EXPOSED);
    res.setHeader("vary", "Origin");
  }
}
