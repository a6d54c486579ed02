import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { CallHead, Message, ResponseEvent, ResponseSink } from "../call/call.js";
import type { Cancel } from "../call/cancel.js";
import type { Deadline } from "../call/deadline.js";
import type { UpstreamCompression, UpstreamProtocol } from "../config/types.js";
import type { StreamRequest, StreamResponse } from "../listener/stream-exchange.js";
import type { HttpTransport } from "../transport/contract.js";

// Where inbound and outbound adapters meet: the neutral call of call/call.ts
// plus what each side needs around it. Adapters import this file, never each
// other's dispatchers (docs/DESIGN.md, "Layers").

export type ServerRequest = IncomingMessage | Http2ServerRequest | StreamRequest;
export type ServerResponseLike = ServerResponse | Http2ServerResponse | StreamResponse;

export interface InboundOptions {
  maxBytes: number;
}

/** What an inbound adapter makes of a request: the call and its messages. */
export interface InboundCall {
  head: CallHead;
  /** Uncompressed request messages in head.codec; throws a CallError on bad input. Nothing is read before the first next(). */
  messages: AsyncIterable<Uint8Array>;
  /**
   * The request read whole instead (the unary lane, docs/DESIGN.md): at
   * most one message. Offered only where the body can be taken as it came
   * (not gRPC-Web text, not Connect); the call plan decides whether to use it.
   */
  readWhole?: (cancel: Cancel) => Promise<Message[]>;
}

export interface InboundProtocol {
  readonly name: "grpc" | "grpc-web" | "connect";
  /** The status travels in HTTP trailers (gRPC); the others end their response with the body. */
  readonly httpTrailers: boolean;
  /** The sink exists before the request is parsed, so parse errors are answered in the protocol's form. */
  sink(req: ServerRequest, res: ServerResponseLike): ResponseSink;
  /** Throws a CallError when the request is malformed. */
  parse(req: ServerRequest, opts: InboundOptions): InboundCall;
}

/**
 * A call's request messages on their way up: streamed, or read whole (the
 * unary lane), in which case the outbound adapter sends them in one piece
 * and reads the answer whole.
 */
export type RequestMessages = AsyncIterable<Uint8Array> | readonly Message[];

export function isWhole(m: RequestMessages): m is readonly Message[] {
  return Array.isArray(m);
}

/** One attempt of a call against one endpoint, in the upstream's codec. */
export interface OutboundCall {
  head: CallHead;
  transport: HttpTransport;
  messages: RequestMessages;
  /** The call's deadline; the upstream is told what remains of it. */
  deadline: Deadline | undefined;
  cancel: Cancel;
  maxBytes: number;
  /** The cluster's `compression`: how request messages travel, and whether compressed answers are asked for. */
  compression: UpstreamCompression;
  /** For error messages: `cluster "echo" endpoint 127.0.0.1:50051`. */
  label: string;
}

/** An upstream's answer, pulled one event at a time: headers? message* end. */
export interface ResponseEvents extends AsyncIterableIterator<ResponseEvent> {
  /**
   * The next event if it is already in hand (a unary answer read whole),
   * taken without an async step; undefined: call next() and wait.
   */
  ready?(): ResponseEvent | undefined;
}

/** An outbound adapter: one protocol spoken to an upstream. */
export type OutboundProtocol = (call: OutboundCall) => ResponseEvents;

export type { UpstreamProtocol };
