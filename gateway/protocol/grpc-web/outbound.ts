import type { OutboundProtocol } from "../contract.js";
import { grpcFamilyOutbound } from "../grpc/outbound.js";
import { parseWebTrailers } from "./trailer.js";

/**
 * gRPC-Web to an upstream: gRPC's framing (grpc/outbound.ts), with the
 * trailers read from the body's 0x80 frame. Over HTTP/1.1 or HTTP/2, as the
 * cluster's `http` says.
 */
export const grpcWebOutbound: OutboundProtocol = grpcFamilyOutbound({
  contentType: "application/grpc-web",
  requestHeaders: { "x-grpc-web": "1" },
  bodyTrailers: parseWebTrailers,
});
