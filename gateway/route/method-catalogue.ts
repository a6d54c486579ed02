import {
  type DescFile,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type Registry,
  create,
  createFileRegistry,
  createRegistry,
  fromBinary,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorSetSchema,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import type { MethodKind } from "../call/call.js";
import type { DescriptorSource } from "../descriptors/descriptor-merge.js";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";

/** google.protobuf's files as the gateway has them: what a learned file that imports one gets. */
const WELL_KNOWN: readonly DescFile[] = [
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
];

export interface MethodInfo {
  desc: DescMethod;
  kind: MethodKind;
  /** NO_SIDE_EFFECTS or IDEMPOTENT in the proto. */
  idempotent: boolean;
  noSideEffects: boolean;
}

/**
 * What the gateway knows of each method, by path: kind, idempotency and the
 * descriptors transcoding needs. Built once per config snapshot from the
 * health API (which the gateway speaks itself), the descriptor files the
 * embedding program hands in (the demo's, from demo.ts), every
 * FileDescriptorSet the config names, and what the upstreams' server
 * reflection taught (already merged and checked for conflicts by
 * descriptors/descriptor-merge.ts, in import order); a new lesson makes a new
 * catalogue in a new snapshot.
 */
export class MethodCatalogue {
  private readonly methods = new Map<string, MethodInfo>();
  readonly registry: Registry;
  /** Every file by its .proto name, imports included: what server reflection hands out. */
  readonly files = new Map<string, DescFile>();

  /** Services whose descriptors came from reflection and from nowhere else. */
  readonly learnedServices: readonly string[];

  constructor(
    descriptorSets: readonly Uint8Array[],
    files: readonly DescFile[] = [],
    learned: readonly FileDescriptorProto[] = [],
  ) {
    const sets: FileRegistry[] = descriptorSets.map((bytes) =>
      createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)),
    );
    const known = new Set<string>();
    for (const r of [createRegistry(...files, file_grpc_health_v1_health), ...sets])
      for (const t of r) if (t.kind === "service") known.add(t.typeName);
    const fromReflection: string[] = [];
    if (learned.length > 0) {
      const reg = createFileRegistry(create(FileDescriptorSetSchema, { file: [...learned] }));
      for (const t of reg) if (t.kind === "service" && !known.has(t.typeName)) fromReflection.push(t.typeName);
      sets.push(reg);
    }
    this.learnedServices = fromReflection.sort();
    const builtIn = [...files, file_grpc_health_v1_health];
    this.registry = createRegistry(...builtIn, ...sets);
    for (const r of [createRegistry(...builtIn), ...sets]) {
      for (const t of r) if (t.kind === "service") this.addService(t);
    }
    // Keyed by the file's real name ("acme/echo/v1/echo.proto", as imports
    // and reflection clients name it); DescFile.name drops the ".proto".
    const addFile = (f: DescFile) => {
      if (this.files.has(f.proto.name)) return;
      this.files.set(f.proto.name, f);
      f.dependencies.forEach(addFile);
    };
    builtIn.forEach(addFile);
    for (const set of sets) for (const f of set.files) addFile(f);
  }

  /** Method paths of one service. */
  pathsOf(service: string): string[] {
    return [...this.methods.keys()].filter((p) => p.startsWith(`/${service}/`));
  }

  /** Service names with descriptors, for listings. */
  serviceNames(): string[] {
    return [...new Set([...this.methods.keys()].map((p) => p.split("/")[1]))];
  }

  private addService(s: DescService): void {
    for (const m of s.methods) {
      const kind: MethodKind =
        m.methodKind === "unary"
          ? "unary"
          : m.methodKind === "server_streaming"
            ? "server_streaming"
            : m.methodKind === "client_streaming"
              ? "client_streaming"
              : "bidi_streaming";
      // IdempotencyLevel: 1 = NO_SIDE_EFFECTS, 2 = IDEMPOTENT.
      const level = m.idempotency as number;
      this.methods.set(`/${s.typeName}/${m.name}`, {
        desc: m,
        kind,
        idempotent: level === 1 || level === 2,
        noSideEffects: level === 1,
      });
    }
  }

  lookup(path: string): MethodInfo | undefined {
    return this.methods.get(path);
  }
}

/**
 * What the gateway has before anything is learned, as merge sources: the
 * built-in files with their imports and google.protobuf's, then each
 * descriptor set of the config (descriptorSets[i]).
 */
export function baseSources(
  descriptorSets: readonly Uint8Array[],
  files: readonly DescFile[] = [],
): DescriptorSource[] {
  const builtIn: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const add = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    f.dependencies.forEach(add);
    builtIn.push(f.proto);
  };
  [...files, file_grpc_health_v1_health, ...WELL_KNOWN].forEach(add);
  return [
    { name: "built-in", files: builtIn },
    ...descriptorSets.map((bytes, i) => ({
      name: `descriptorSets[${i}]`,
      files: fromBinary(FileDescriptorSetSchema, bytes).file,
    })),
  ];
}
