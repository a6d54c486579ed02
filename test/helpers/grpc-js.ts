import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  EchoService,
  type ChatRequestSchema,
  type ChatResponse,
  type CountRequestSchema,
  type CountResponse,
  type EchoRequestSchema,
  type EchoResponse,
  type SumRequestSchema,
  type SumResponse,
} from "../../gen/acme/echo/v1/echo_pb.js";

// @grpc/grpc-js as an independent gRPC client: no proto-loader, no connect-es
// transport, just grpc-js framing with @bufbuild/protobuf doing the bytes.

type Init<S extends DescMessage> = MessageInitShape<S>;

/** grpc-js method definition for one method, (de)serialized with the generated schema. */
function methodDefinition<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  requestStream: boolean,
  responseStream: boolean,
  originalName: string,
): grpc.MethodDefinition<Init<I>, MessageShape<O>> {
  return {
    path,
    requestStream,
    responseStream,
    originalName,
    requestSerialize: (v) => Buffer.from(toBinary(input, create(input, v))),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (v) => Buffer.from(toBinary(output, v)),
    responseDeserialize: (b) => fromBinary(output, b),
  };
}

/** The EchoService as a grpc-js ServiceDefinition, derived from the generated descriptor. */
export const echoServiceDefinition: grpc.ServiceDefinition = Object.fromEntries(
  EchoService.methods.map((m) => [
    m.name,
    methodDefinition(
      `/${EchoService.typeName}/${m.name}`,
      m.input,
      m.output,
      m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      m.localName,
    ),
  ]),
);

/** Typed view of the generic client (grpc-js adds one method per definition key). */
export interface EchoGrpcJsClient extends grpc.Client {
  Echo(
    req: Init<typeof EchoRequestSchema>,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: grpc.requestCallback<EchoResponse>,
  ): grpc.ClientUnaryCall;
  Count(
    req: Init<typeof CountRequestSchema>,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
  ): grpc.ClientReadableStream<CountResponse>;
  Sum(
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: grpc.requestCallback<SumResponse>,
  ): grpc.ClientWritableStream<Init<typeof SumRequestSchema>>;
  Chat(
    md: grpc.Metadata,
    opts: grpc.CallOptions,
  ): grpc.ClientDuplexStream<Init<typeof ChatRequestSchema>, ChatResponse>;
}

export const EchoGrpcJsClientCtor = grpc.makeGenericClientConstructor(echoServiceDefinition, EchoService.typeName);

export function echoGrpcJsClient(
  target: string,
  creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): EchoGrpcJsClient {
  return new EchoGrpcJsClientCtor(target, creds, options) as unknown as EchoGrpcJsClient;
}

export function metadata(entries: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

export interface UnaryResult<T> {
  response?: T;
  error?: grpc.ServiceError;
  headers?: grpc.Metadata;
  status: grpc.StatusObject;
}

/** One unary call, resolving with everything the client saw (never rejects). */
export function unary<T>(
  start: (cb: grpc.requestCallback<T>) => grpc.ClientUnaryCall | grpc.ClientWritableStream<unknown>,
): Promise<UnaryResult<T>> {
  return new Promise((resolve) => {
    let response: T | undefined;
    let error: grpc.ServiceError | undefined;
    let headers: grpc.Metadata | undefined;
    let done = 0;
    let status: grpc.StatusObject | undefined;
    // The callback and the 'status' event arrive in either order; wait for both.
    const finish = () => {
      if (++done === 2) resolve({ response, error, headers, status: status! });
    };
    const call = start((err, res) => {
      error = err ?? undefined;
      response = res;
      finish();
    });
    call.on("metadata", (md: grpc.Metadata) => (headers = md));
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
      finish();
    });
  });
}

/** All messages of a server stream plus its final status. */
export function collect<T>(
  call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>,
): Promise<{ messages: T[]; error?: grpc.ServiceError; status: grpc.StatusObject }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let error: grpc.ServiceError | undefined;
    let status: grpc.StatusObject | undefined;
    let ended = false;
    const maybeDone = () => {
      if (status && (ended || error)) resolve({ messages, error, status });
    };
    call.on("data", (m: T) => messages.push(m));
    call.on("error", (e: grpc.ServiceError) => {
      error = e;
      maybeDone();
    });
    call.on("end", () => {
      ended = true;
      maybeDone();
    });
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
      maybeDone();
    });
  });
}

export interface DecodedStatus {
  code: number;
  message: string;
  details: Array<{ typeUrl: string; value: Uint8Array }>;
}

/** Decodes google.rpc.Status (grpc-status-details-bin) by hand: code=1, message=2, details=3 (Any: type_url=1, value=2). */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatus {
  const r = new BinaryReader(bytes);
  const out: DecodedStatus = { code: 0, message: "", details: [] };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.Varint) out.code = r.int32();
    else if (no === 2 && wt === WireType.LengthDelimited) out.message = r.string();
    else if (no === 3 && wt === WireType.LengthDelimited) {
      const any = new BinaryReader(r.bytes());
      const d: { typeUrl: string; value: Uint8Array } = { typeUrl: "", value: new Uint8Array() };
      while (any.pos < any.len) {
        const [n, w] = any.tag();
        if (n === 1 && w === WireType.LengthDelimited) d.typeUrl = any.string();
        else if (n === 2 && w === WireType.LengthDelimited) d.value = any.bytes();
        else any.skip(w);
      }
      out.details.push(d);
    } else r.skip(wt);
  }
  return out;
}

export { grpc };
