// Runs in Chromium. Google's grpc-web runtime in text mode
// (application/grpc-web-text, base64 bodies over XHR), the way a
// protoc-gen-grpc-web client with mode=grpcwebtext calls. Instead of generated
// stubs, hand-written MethodDescriptors (de)serialize with @bufbuild/protobuf.
import { GrpcWebClientBase, MethodDescriptor, type ClientReadableStream, type Metadata, type RpcError } from "grpc-web";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, WireType, base64Decode } from "@bufbuild/protobuf/wire";
import { AnySchema, anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  CountRequestSchema,
  CountResponseSchema,
  type CountResponse,
  type EchoResponse,
  EchoRequestSchema,
  EchoResponseSchema,
} from "../../../gen/acme/echo/v1/echo_pb.js";

const SERVICE = "/acme.echo.v1.EchoService";

// The runtime never constructs request/response classes itself (generated
// code does), so a stand-in constructor satisfies the descriptor's signature.
const NO_CLASS = class {} as unknown as new () => never;

function method<I extends DescMessage, O extends DescMessage>(
  name: string,
  type: "unary" | "server_streaming",
  input: I,
  output: O,
): MethodDescriptor<MessageShape<I>, MessageShape<O>> {
  return new MethodDescriptor<MessageShape<I>, MessageShape<O>>(
    `${SERVICE}/${name}`,
    type,
    NO_CLASS,
    NO_CLASS,
    (req: MessageShape<I>) => toBinary(input, req),
    (bytes: Uint8Array) => fromBinary(output, bytes),
  );
}

const ECHO = method("Echo", "unary", EchoRequestSchema, EchoResponseSchema);
const COUNT = method("Count", "server_streaming", CountRequestSchema, CountResponseSchema);

/** Everything one call showed the page, as plain data for page.evaluate. */
export interface GrpcWebTextCall<T> {
  messages: T[];
  /** Response headers, from the 'metadata' event (XHR getAllResponseHeaders: CORS-filtered). */
  headers: Metadata;
  /** The final status from the trailer frame in the body. */
  status: { code: number; details: string; metadata: Metadata } | undefined;
  error:
    { code: number; message: string; metadata: Metadata; details: { message: string; replica: string }[] } | undefined;
}

function observe<T, R>(
  start: (record: GrpcWebTextCall<T>, done: () => void) => ClientReadableStream<R>,
): Promise<GrpcWebTextCall<T>> {
  return new Promise((resolve) => {
    const record: GrpcWebTextCall<T> = { messages: [], headers: {}, status: undefined, error: undefined };
    // grpc-web reports the end ('end', or 'error', or the unary callback)
    // and the 'status' event in an order that varies by call type: report
    // once both are in, or shortly after the end if no status ever comes.
    let ended = false;
    const settle = () => {
      if (ended && record.status) resolve(record);
    };
    const done = () => {
      ended = true;
      settle();
      setTimeout(() => resolve(record), 500);
    };
    const stream = start(record, done);
    stream.on("metadata", (md) => (record.headers = { ...md }));
    stream.on("status", (s) => {
      record.status = { code: s.code, details: s.details, metadata: { ...(s.metadata ?? {}) } };
      settle();
    });
  });
}

function errorOf(err: RpcError) {
  const metadata = { ...(err.metadata ?? {}) };
  return { code: err.code, message: err.message, metadata, details: echoDetails(metadata["grpc-status-details-bin"]) };
}

/**
 * The details a grpc-web app would dig out of grpc-status-details-bin: a
 * google.rpc.Status whose field 3 holds Anys. Read with the wire reader, so
 * no google.rpc stubs are needed; the replica's detail is an EchoResponse.
 */
function echoDetails(statusBin: string | undefined): { message: string; replica: string }[] {
  if (!statusBin) return [];
  const reader = new BinaryReader(base64Decode(statusBin));
  const out: { message: string; replica: string }[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType);
      continue;
    }
    const detail = anyUnpack(fromBinary(AnySchema, reader.bytes()), EchoResponseSchema);
    if (detail) out.push({ message: detail.message, replica: detail.replica });
  }
  return out;
}

export function grpcWebTextScenarios(baseUrl: string) {
  const client = new GrpcWebClientBase({ format: "text" });
  const unary = (message: string, metadata: Metadata) =>
    observe<{ message: string; replica: string }, EchoResponse>((record, done) =>
      // rpcCall rather than thenableCall: only the stream API shows the
      // response headers and the status trailers.
      client.rpcCall(
        `${baseUrl}${ECHO.getName()}`,
        { $typeName: "acme.echo.v1.EchoRequest", message },
        metadata,
        ECHO,
        (err, res) => {
          if (err) record.error = errorOf(err);
          else record.messages.push({ message: res.message, replica: res.replica });
          done();
        },
      ),
    );
  return {
    unary: () => unary("hello from grpc-web text", {}),

    serverStream: () =>
      observe<{ n: number; replica: string }, CountResponse>((record, done) => {
        const s = client.serverStreaming(
          `${baseUrl}${COUNT.getName()}`,
          { $typeName: "acme.echo.v1.CountRequest", count: 3, intervalMs: 20 },
          { "x-echo-trailer": "stream-v" },
          COUNT,
        );
        s.on("data", (r) => record.messages.push({ n: r.n, replica: r.replica }));
        s.on("error", (err) => {
          record.error = errorOf(err);
          done();
        });
        s.on("end", done);
        return s;
      }),

    /** Request metadata reaches the replica, which mirrors it into a response header and a trailer. */
    metadata: () => unary("md", { "x-echo-trailer": "text-v" }),

    error: () => unary("fail", { "x-echo-fail": "not_found" }),
  };
}

export type GrpcWebTextScenarios = ReturnType<typeof grpcWebTextScenarios>;
