import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { CallHead } from "../call/call.js";
import { Cancel } from "../call/cancel.js";
import { Deadline } from "../call/deadline.js";
import { CallError, Code } from "../call/status.js";
import type { UpstreamProtocol } from "../config/types.js";
import { callUpstream } from "../protocol/outbound.js";
import type { HttpTransport } from "../transport/contract.js";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";

/** One endpoint, as the reflection client reaches it: the endpoint's own pooled transport, in the cluster's protocol. */
export interface ReflectionTarget {
  transport: HttpTransport;
  protocol: UpstreamProtocol;
  label: string;
}

/** What one endpoint said about its API. */
export type ReflectionAnswer =
  | {
      kind: "learned";
      version: ReflectionVersion;
      /** Services it offers that a file describes (the reflection service itself left out). */
      services: string[];
      /** Those services' files and every import the endpoint could give, in the order they came. */
      files: FileDescriptorProto[];
    }
  /** Neither v1 nor v1alpha is served: nothing to learn, not a failure. */
  | { kind: "unimplemented" };

export type ReflectionVersion = "v1" | "v1alpha";

export interface AskOptions {
  /** Each exchange (one call) must end by then. */
  timeoutMs: number;
  /** Largest answer message; a file descriptor response can be big. */
  maxBytes: number;
  /** Stops the exchange in flight (the cluster's learning was stopped). */
  cancel?: Cancel;
}

// Imports are asked for in rounds (a file's imports may import more); a chain
// deeper than this is left for the merge to resolve from the gateway's own files.
const MAX_IMPORT_ROUNDS = 8;

const REFLECTION_SERVICES = new Set([
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * Asks one endpoint's gRPC server reflection for the services it offers and
 * their file descriptors with their imports: v1 first, v1alpha when v1 is
 * UNIMPLEMENTED (grpc-go before 1.57, many other servers). Every exchange is
 * its own call that sends all its requests and then reads all the answers,
 * so it works over HTTP/1.1 (half-duplex) as well as HTTP/2. Throws a
 * CallError when the endpoint cannot be asked (down, timed out, malformed).
 */
export async function askReflection(target: ReflectionTarget, opts: AskOptions): Promise<ReflectionAnswer> {
  let version: ReflectionVersion = "v1";
  let listed: ServerReflectionResponse[];
  try {
    listed = await exchange(target, version, [{ case: "listServices", value: "" }], opts);
  } catch (err) {
    if (!(err instanceof CallError && err.code === Code.UNIMPLEMENTED)) throw err;
    version = "v1alpha";
    try {
      listed = await exchange(target, version, [{ case: "listServices", value: "" }], opts);
    } catch (err2) {
      if (err2 instanceof CallError && err2.code === Code.UNIMPLEMENTED) return { kind: "unimplemented" };
      throw err2;
    }
  }
  const list = listed[0]?.messageResponse;
  if (list?.case !== "listServicesResponse") {
    throw new CallError(Code.INTERNAL, `${target.label}: reflection answered list_services with ${answerName(list)}`);
  }
  const names = list.value.service.map((s) => s.name).filter((n) => !REFLECTION_SERVICES.has(n));
  const files = new Map<string, FileDescriptorProto>();
  const take = (responses: ServerReflectionResponse[]) => {
    for (const r of responses) {
      if (r.messageResponse.case !== "fileDescriptorResponse") continue;
      for (const bytes of r.messageResponse.value.fileDescriptorProto) {
        const file = decodeFile(bytes, target.label);
        if (!files.has(file.name)) files.set(file.name, file);
      }
    }
  };
  const byService = await exchange(
    target,
    version,
    names.map((n) => ({ case: "fileContainingSymbol", value: n })),
    opts,
  );
  take(byService);
  const described = new Set<string>();
  for (const f of files.values())
    for (const s of f.service) described.add(f.package ? `${f.package}.${s.name}` : s.name);
  // A server sends each import once per stream (grpc-go), or not at all: ask for what is still missing.
  const refused = new Set<string>();
  for (let round = 0; round < MAX_IMPORT_ROUNDS; round++) {
    const missing = [...files.values()]
      .flatMap((f) => f.dependency)
      .filter((d, i, all) => !files.has(d) && !refused.has(d) && all.indexOf(d) === i);
    if (missing.length === 0) break;
    const answers = await exchange(
      target,
      version,
      missing.map((name) => ({ case: "fileByFilename", value: name })),
      opts,
    );
    take(answers);
    for (const d of missing) if (!files.has(d)) refused.add(d);
  }
  return { kind: "learned", version, services: names.filter((n) => described.has(n)), files: [...files.values()] };
}

/** One ServerReflectionInfo call: every request out, then every answer in. */
async function exchange(
  target: ReflectionTarget,
  version: ReflectionVersion,
  requests: Array<ServerReflectionRequest["messageRequest"]>,
  opts: AskOptions,
): Promise<ServerReflectionResponse[]> {
  if (requests.length === 0) return [];
  const service = `grpc.reflection.${version}.ServerReflection`;
  const head: CallHead = {
    path: `/${service}/ServerReflectionInfo`,
    service,
    method: "ServerReflectionInfo",
    kind: "bidi_streaming",
    codec: "proto",
    metadata: {},
    timeoutMs: opts.timeoutMs,
  };
  // v1 and v1alpha are the same messages on the wire; only the path differs.
  const messages = requests.map((r) =>
    toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: r })),
  );
  const cancel = new Cancel();
  const stopOuter = opts.cancel?.on(() => cancel.cancel());
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cancel.cancel();
  }, opts.timeoutMs);
  timer.unref();
  const out: ServerReflectionResponse[] = [];
  try {
    const events = callUpstream(target.protocol, {
      head,
      transport: target.transport,
      messages: (async function* () {
        yield* messages;
      })(),
      deadline: Deadline.after(opts.timeoutMs),
      cancel,
      maxBytes: opts.maxBytes,
      compression: "identity",
      label: target.label,
    });
    for await (const ev of events) {
      if (ev.type === "message") out.push(decodeResponse(ev.data, target.label));
      else if (ev.type === "end" && ev.status.code !== Code.OK) throw new CallError(ev.status.code, ev.status.message);
    }
  } catch (err) {
    if (timedOut) throw new CallError(Code.DEADLINE_EXCEEDED, `no reflection answer within ${opts.timeoutMs} ms`);
    if (opts.cancel?.cancelled) throw new CallError(Code.CANCELLED, "stopped");
    throw err instanceof CallError ? err : new CallError(Code.INTERNAL, (err as Error).message);
  } finally {
    clearTimeout(timer);
    stopOuter?.();
  }
  if (out.length !== requests.length) {
    throw new CallError(
      Code.INTERNAL,
      `reflection answered ${out.length} of ${requests.length} requests on one stream (expected one answer each)`,
    );
  }
  return out;
}

function decodeResponse(bytes: Uint8Array, label: string): ServerReflectionResponse {
  try {
    return fromBinary(ServerReflectionResponseSchema, bytes);
  } catch (err) {
    throw new CallError(Code.INTERNAL, `${label}: malformed ServerReflectionResponse: ${(err as Error).message}`);
  }
}

function decodeFile(bytes: Uint8Array, label: string): FileDescriptorProto {
  try {
    return fromBinary(FileDescriptorProtoSchema, bytes);
  } catch (err) {
    throw new CallError(Code.INTERNAL, `${label}: malformed FileDescriptorProto: ${(err as Error).message}`);
  }
}

function answerName(r: ServerReflectionResponse["messageResponse"] | undefined): string {
  if (!r) return "nothing";
  if (r.case === "errorResponse") return `error ${r.value.errorCode}: ${r.value.errorMessage}`;
  return r.case ?? "an empty answer";
}
