import type { UpstreamProtocol } from "../config/types.js";
import type { OutboundCall, ResponseEvents } from "./contract.js";
import { grpcOutbound } from "./grpc/outbound.js";
import { grpcWebOutbound } from "./grpc-web/outbound.js";
import { connectOutbound } from "./connect/outbound.js";

/** One attempt of a call to an upstream speaking `protocol`. */
export function callUpstream(protocol: UpstreamProtocol, call: OutboundCall): ResponseEvents {
  switch (protocol) {
    case "grpc":
      return grpcOutbound(call);
    case "grpc-web":
      return grpcWebOutbound(call);
    case "connect":
      return connectOutbound(call);
  }
}

/**
 * Whether a unary request read whole can go to `protocol` as it came: the
 * gRPC family, whose framing the client's envelope already has (the unary
 * lane, docs/DESIGN.md). Connect unary has no envelope to reuse.
 */
export function takesWholeRequest(protocol: UpstreamProtocol): boolean {
  return protocol !== "connect";
}
