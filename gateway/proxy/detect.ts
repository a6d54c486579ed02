import type { InboundProtocol, ServerRequest } from "../protocol/contract.js";
import { grpcInbound } from "../protocol/grpc/inbound.js";
import { grpcWebInbound } from "../protocol/grpc-web/inbound.js";
import { connectInbound, connectForm } from "../protocol/connect/inbound.js";

/** Which protocol a request speaks, by content type (and Connect's GET query). */
export function detectProtocol(req: ServerRequest): InboundProtocol | undefined {
  const ct = req.headers["content-type"]?.toLowerCase() ?? "";
  if (ct.startsWith("application/grpc-web")) return grpcWebInbound;
  if (ct.startsWith("application/grpc")) return grpcInbound;
  if (req.method === "GET") return isConnectGet(req.url ?? "") ? connectInbound : undefined;
  if (req.method === "POST" && connectForm(req)) return connectInbound;
  return undefined;
}

export function isConnectGet(url: string): boolean {
  const q = url.indexOf("?");
  if (q < 0) return false;
  const params = new URLSearchParams(url.slice(q + 1));
  return params.has("encoding") || params.get("connect") === "v1";
}

/**
 * Whether the proxy answers a request (rather than Fastify's routes), given
 * what detectProtocol found: any RPC content type or Connect GET, or an
 * RPC-shaped path with another method or content type (answered 405/415).
 */
export function isProxied(req: ServerRequest, protocol: InboundProtocol | undefined): boolean {
  return protocol !== undefined || (req.method !== "GET" && RPC_PATH.test(req.url ?? ""));
}

/** Requests for Fastify's routes, the gateway's own services (server reflection) among them. */
export const FASTIFY = Symbol("fastify");

/**
 * Who answers a request: FASTIFY, or the proxy, in which case the result is
 * the protocol detectProtocol found (undefined: an RPC-shaped request the
 * proxy refuses, 405/415). No allocation: it runs per request.
 */
export function answerer(req: ServerRequest): typeof FASTIFY | InboundProtocol | undefined {
  if (req.url?.startsWith("/grpc.reflection.")) return FASTIFY;
  const protocol = detectProtocol(req);
  return isProxied(req, protocol) ? protocol : FASTIFY;
}

const RPC_PATH = /^\/[^/?]+\.[^/?]+\/[^/?]+(\?|$)/;

export const ACCEPTED_CONTENT_TYPES = [
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc-web+json",
  "application/grpc-web-text",
  "application/grpc-web-text+proto",
  "application/proto",
  "application/json",
  "application/connect+proto",
  "application/connect+json",
].join(", ");
