import { clone, create, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MethodOptionsSchema,
  MethodOptions_IdempotencyLevel,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { MethodCatalogue } from "./method-catalogue.js";

const echo = "acme.echo.v1.EchoService";
const facts = (c: MethodCatalogue, m: string) => {
  const info = c.lookup(`/${echo}/${m}`);
  return info && { kind: info.kind, idempotent: info.idempotent, noSideEffects: info.noSideEffects };
};

// By each file's own name: what `files` is keyed by is reflection's business (local/reflection.spec.ts).
const fileNames = (c: MethodCatalogue) => [...c.files.values()].map((f) => f.proto.name);

function descriptorSet(
  mutate?: (proto: ReturnType<typeof clone<typeof FileDescriptorProtoSchema>>) => void,
): Uint8Array {
  const proto = clone(FileDescriptorProtoSchema, file_acme_echo_v1_echo.proto);
  mutate?.(proto);
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [proto] }));
}

describe("MethodCatalogue", () => {
  it("knows the health API without being told", () => {
    const c = new MethodCatalogue([]);
    expect(c.lookup("/grpc.health.v1.Health/Check")).toMatchObject({
      kind: "unary",
      idempotent: false,
      noSideEffects: false,
    });
    expect(c.lookup("/grpc.health.v1.Health/Watch")?.kind).toBe("server_streaming");
    expect(c.serviceNames()).toEqual(["grpc.health.v1.Health"]);
    expect(fileNames(c)).toEqual(["grpc/health/v1/health.proto"]);
  });

  it("reads kinds and idempotency from the descriptor files handed in", () => {
    const c = new MethodCatalogue([], [file_acme_echo_v1_echo]);
    expect(facts(c, "Echo")).toEqual({ kind: "unary", idempotent: true, noSideEffects: true });
    expect(facts(c, "Count")).toEqual({ kind: "server_streaming", idempotent: true, noSideEffects: true });
    expect(facts(c, "Sum")).toEqual({ kind: "client_streaming", idempotent: false, noSideEffects: false });
    expect(facts(c, "Chat")).toEqual({ kind: "bidi_streaming", idempotent: false, noSideEffects: false });
    expect(facts(c, "Write")).toEqual({ kind: "unary", idempotent: false, noSideEffects: false });
    expect(fileNames(c).sort()).toEqual(["acme/echo/v1/echo.proto", "grpc/health/v1/health.proto"]);
  });

  it("keeps each method's descriptor, whose messages the registry resolves", () => {
    const c = new MethodCatalogue([], [file_acme_echo_v1_echo]);
    const info = c.lookup(`/${echo}/Echo`)!;
    expect(info.desc.input.typeName).toBe("acme.echo.v1.EchoRequest");
    expect(info.desc.output.typeName).toBe("acme.echo.v1.EchoResponse");
    expect(c.registry.getMessage("acme.echo.v1.EchoRequest")?.typeName).toBe("acme.echo.v1.EchoRequest");
    expect(c.registry.getService("grpc.health.v1.Health")).toBeDefined();
  });

  it("reads the same facts from a FileDescriptorSet in the config", () => {
    const c = new MethodCatalogue([descriptorSet()]);
    expect(facts(c, "Echo")).toEqual({ kind: "unary", idempotent: true, noSideEffects: true });
    expect(facts(c, "Chat")).toEqual({ kind: "bidi_streaming", idempotent: false, noSideEffects: false });
    expect(c.registry.getMessage("acme.echo.v1.WriteRequest")).toBeDefined();
    expect(fileNames(c).sort()).toEqual(["acme/echo/v1/echo.proto", "grpc/health/v1/health.proto"]);
    expect(c.lookup("/grpc.health.v1.Health/Check")).toBeDefined();
  });

  it("takes IDEMPOTENT as safe to repeat but not as free of side effects", () => {
    const set = descriptorSet((p) => {
      const write = p.service[0].method.find((m) => m.name === "Write")!;
      write.options = create(MethodOptionsSchema, { idempotencyLevel: MethodOptions_IdempotencyLevel.IDEMPOTENT });
    });
    expect(facts(new MethodCatalogue([set]), "Write")).toEqual({
      kind: "unary",
      idempotent: true,
      noSideEffects: false,
    });
  });

  it("lists method paths by service and services by name", () => {
    const c = new MethodCatalogue([], [file_acme_echo_v1_echo]);
    expect(c.pathsOf(echo).sort()).toEqual([
      `/${echo}/Chat`,
      `/${echo}/Count`,
      `/${echo}/Echo`,
      `/${echo}/Sum`,
      `/${echo}/Write`,
    ]);
    expect(c.pathsOf("acme.echo.v1.Echo")).toEqual([]);
    expect(c.serviceNames().sort()).toEqual([echo, "grpc.health.v1.Health"]);
  });

  it("knows nothing of other methods", () => {
    const c = new MethodCatalogue([], [file_acme_echo_v1_echo]);
    expect(c.lookup(`/${echo}/Nope`)).toBeUndefined();
    expect(c.lookup("/other.Service/Echo")).toBeUndefined();
    expect(c.lookup(`${echo}/Echo`)).toBeUndefined();
  });
});
