import type { Metadata } from "./metadata.js";
import type { Status } from "./status.js";

export type Codec = "proto" | "json";

/** What the gateway knows about a method; from descriptors or the inbound protocol. */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/**
 * The protocol-neutral call every inbound adapter produces and every
 * outbound adapter consumes. Messages are whole, uncompressed payloads in
 * `codec`; framing and compression belong to the adapters.
 */
export interface CallHead {
  /** "/pkg.Service/Method" */
  path: string;
  service: string;
  method: string;
  /** undefined when neither descriptors nor the protocol tell. */
  kind: MethodKind | undefined;
  codec: Codec;
  metadata: Metadata;
  /** Milliseconds the call may still take when the gateway received it. */
  timeoutMs: number | undefined;
}

/** One step of an upstream's answer; pulled, so backpressure is natural. */
export type ResponseEvent =
  | { type: "headers"; metadata: Metadata }
  /**
   * `frame`, when the upstream adapter has it: this message as an
   * uncompressed envelope (flag 0, length, data) exactly as received, which
   * a sink framing the same bytes the same way writes instead of copying.
   */
  | { type: "message"; data: Uint8Array; frame?: Uint8Array }
  | { type: "end"; status: Status; trailers: Metadata };

/** A request message read whole (a unary call's); `frame` as in ResponseEvent. */
export interface Message {
  data: Uint8Array;
  frame?: Uint8Array;
}

/** Where an inbound adapter sends the answer. Calls come in this order: headers? message* end. */
export interface ResponseSink {
  headers(metadata: Metadata): void;
  /** Resolves when the client can take more. `frame`: see ResponseEvent. */
  message(data: Uint8Array, frame?: Uint8Array): Promise<void> | void;
  end(status: Status, trailers: Metadata): void;
}

export function splitPath(path: string): { service: string; method: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1], method: m[2] } : undefined;
}
