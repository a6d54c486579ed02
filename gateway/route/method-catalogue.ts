import {
  type DescFile,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type Registry,
  createFileRegistry,
  createRegistry,
  fromBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { MethodKind } from "../call/call.js";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";

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
 * embedding program hands in (the demo's, from demo.ts), and every
 * FileDescriptorSet the config names.
 */
export class MethodCatalogue {
  private readonly methods = new Map<string, MethodInfo>();
  readonly registry: Registry;
  /** Every file by its .proto name, imports included: what server reflection hands out. */
  readonly files = new Map<string, DescFile>();

  constructor(descriptorSets: readonly Uint8Array[], files: readonly DescFile[] = []) {
    const sets: FileRegistry[] = descriptorSets.map((bytes) =>
      createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)),
    );
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
