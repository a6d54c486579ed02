import type { CallHead, Message, ResponseEvent } from "../call/call.js";
import type { Cancel } from "../call/cancel.js";
import type { HttpTransport } from "../cluster/transport.js";
import type { UpstreamProtocol } from "../config/types.js";
import { grpcOutbound, grpcUnaryOutbound } from "./grpc/outbound.js";
import { connectOutbound } from "./connect/outbound.js";

/** One attempt of a call against one endpoint, in the upstream's codec. */
export interface OutboundCall {
  head: CallHead;
  transport: HttpTransport;
  messages: AsyncIterable<Uint8Array>;
  /** Remaining time for the upstream, already shaved; undefined = none. */
  timeoutMs: number | undefined;
  cancel: Cancel;
  maxBytes: number;
  /** For error messages: `cluster "echo" endpoint 127.0.0.1:50051`. */
  label: string;
}

export function callUpstream(protocol: UpstreamProtocol, call: OutboundCall): AsyncGenerator<ResponseEvent> {
  switch (protocol) {
    case "grpc":
      return grpcOutbound(call, false);
    case "grpc-web":
      return grpcOutbound(call, true);
    case "connect":
      return connectOutbound(call);
  }
}

/** A unary call's attempt: the request read whole (see call-handler's unary lane). */
export interface UnaryOutboundCall extends Omit<OutboundCall, "messages"> {
  request: readonly Message[];
}

/** Whether `protocol` has a unary lane: the gRPC family, whose framing the request already has. */
export function hasUnaryLane(protocol: UpstreamProtocol): boolean {
  return protocol !== "connect";
}

/** All of a unary attempt's events at once; only for protocols hasUnaryLane() accepts. */
export function callUpstreamUnary(protocol: UpstreamProtocol, call: UnaryOutboundCall): Promise<ResponseEvent[]> {
  if (protocol === "connect") throw new Error("no unary lane for Connect upstreams");
  return grpcUnaryOutbound(call, protocol === "grpc-web");
}
