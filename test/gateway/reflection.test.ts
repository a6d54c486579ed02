import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { ServerReflection, ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ServerReflection as ServerReflectionAlpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";

async function* one(req: MessageInitShape<typeof ServerReflectionRequestSchema>) {
  yield req;
}

describe("gRPC server reflection answered by the gateway", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it("lists the routed services and hands out descriptors a client can build a registry from", async () => {
    const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: f.url }));
    const names: string[] = [];
    for await (const res of client.serverReflectionInfo(one({ messageRequest: { case: "listServices", value: "" } }))) {
      if (res.messageResponse.case === "listServicesResponse")
        names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain("acme.echo.v1.EchoService");
    // The fixture routes only the echo service: health has descriptors but no route.
    expect(names).not.toContain("grpc.health.v1.Health");

    const protos: Uint8Array[] = [];
    for await (const res of client.serverReflectionInfo(
      one({ messageRequest: { case: "fileContainingSymbol", value: "acme.echo.v1.EchoService.Echo" } }),
    )) {
      if (res.messageResponse.case === "fileDescriptorResponse")
        protos.push(...res.messageResponse.value.fileDescriptorProto);
    }
    const set = create(FileDescriptorSetSchema, { file: protos.map((b) => fromBinary(FileDescriptorProtoSchema, b)) });
    const reg = createFileRegistry(set);
    expect(reg.getService("acme.echo.v1.EchoService")?.methods.map((m) => m.name)).toEqual([
      "Echo",
      "Count",
      "Sum",
      "Chat",
      "Write",
    ]);
  });

  it("answers unknown symbols with NOT_FOUND in the stream, and v1alpha too", async () => {
    const client = createClient(ServerReflectionAlpha, createGrpcTransport({ baseUrl: f.url }));
    const out = [];
    for await (const res of client.serverReflectionInfo(
      one({ messageRequest: { case: "fileContainingSymbol", value: "nope.Nope" } }) as never,
    ))
      out.push(res);
    expect(out[0].messageResponse.case).toBe("errorResponse");
    expect(out[0].messageResponse.value).toMatchObject({ errorCode: 5 });
  });
});
