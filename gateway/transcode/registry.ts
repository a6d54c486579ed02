import {
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
import { file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";

export interface MethodInfo {
  desc: DescMethod;
  kind: MethodKind;
  /** NO_SIDE_EFFECTS or IDEMPOTENT in the proto. */
  idempotent: boolean;
  noSideEffects: boolean;
}

/**
 * Method descriptors by path, built once at config load: the generated demo
 * and health APIs plus every FileDescriptorSet the config names.
 */
export class MethodRegistry {
  private readonly methods = new Map<string, MethodInfo>();
  readonly registry: Registry;

  constructor(descriptorSets: Uint8Array[]) {
    const files: FileRegistry[] = descriptorSets.map((bytes) => createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)));
    this.registry = createRegistry(file_acme_echo_v1_echo, file_grpc_health_v1_health, ...files);
    for (const r of [createRegistry(file_acme_echo_v1_echo, file_grpc_health_v1_health), ...files]) {
      for (const t of r) if (t.kind === "service") this.addService(t);
    }
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
      this.methods.set(`/${s.typeName}/${m.name}`, { desc: m, kind, idempotent: level === 1 || level === 2, noSideEffects: level === 1 });
    }
  }

  lookup(path: string): MethodInfo | undefined {
    return this.methods.get(path);
  }
}
