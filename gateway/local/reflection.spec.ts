import { describe, expect, it } from "vitest";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { MethodCatalogue } from "../route/method-catalogue.js";
import { registerReflection, type ReflectionView } from "./reflection.js";

type Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

const ECHO_SERVICE = "acme.echo.v1.EchoService";
const REFLECTION = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/** The echo service's descriptors, with only the echo service routed (health has descriptors, no route). */
function echoView(): ReflectionView {
  return { methods: new MethodCatalogue([], [file_acme_echo_v1_echo]), routed: (s) => s === ECHO_SERVICE };
}

function v1Client(current: () => ReflectionView) {
  return createClient(
    v1.ServerReflection,
    createRouterTransport((router) => registerReflection(router, current)),
  );
}

async function ask(client: ReturnType<typeof v1Client>, ...reqs: Request[]): Promise<v1.ServerReflectionResponse[]> {
  async function* send() {
    yield* reqs;
  }
  const out: v1.ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(send())) out.push(res);
  return out;
}

function listed(res: v1.ServerReflectionResponse): string[] {
  if (res.messageResponse.case !== "listServicesResponse") throw new Error(`got ${res.messageResponse.case}`);
  return res.messageResponse.value.service.map((s) => s.name);
}

function fileNames(res: v1.ServerReflectionResponse): string[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`got ${res.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("server reflection", () => {
  it("lists the routed services and reflection itself, not services without a route", async () => {
    const [res] = await ask(v1Client(echoView), { messageRequest: { case: "listServices", value: "" } });
    expect(listed(res).sort()).toEqual([ECHO_SERVICE, ...REFLECTION].sort());
  });

  it("reads the current view on every request, so a reload shows at once", async () => {
    let view = echoView();
    const client = v1Client(() => view);
    expect(listed((await ask(client, { messageRequest: { case: "listServices", value: "" } }))[0])).toContain(
      ECHO_SERVICE,
    );
    view = { methods: view.methods, routed: () => false };
    expect(listed((await ask(client, { messageRequest: { case: "listServices", value: "" } }))[0])).toEqual(REFLECTION);
  });

  it("hands out the file that holds a method, from which a client can build the service", async () => {
    const [res] = await ask(v1Client(echoView), {
      messageRequest: { case: "fileContainingSymbol", value: `${ECHO_SERVICE}.Echo` },
    });
    expect(fileNames(res)).toEqual(["acme/echo/v1/echo.proto"]);
    if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error("unreachable");
    const files = res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const reg = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
    expect(reg.getService(ECHO_SERVICE)?.methods.map((m) => m.name)).toEqual(["Echo", "Count", "Sum", "Chat", "Write"]);
  });

  it("finds the file of a service and of a message by name too", async () => {
    const [service, message] = await ask(
      v1Client(echoView),
      { messageRequest: { case: "fileContainingSymbol", value: ECHO_SERVICE } },
      { messageRequest: { case: "fileContainingSymbol", value: "acme.echo.v1.EchoRequest" } },
    );
    expect(fileNames(service)).toEqual(["acme/echo/v1/echo.proto"]);
    expect(fileNames(message)).toEqual(["acme/echo/v1/echo.proto"]);
  });

  // By the file's real name, as FileDescriptorProto.name and import lists
  // give it (protobuf-es's DescFile.name drops the ".proto").
  it("hands out a file by its name", async () => {
    const [res] = await ask(v1Client(echoView), {
      messageRequest: { case: "fileByFilename", value: "acme/echo/v1/echo.proto" },
    });
    expect(fileNames(res)).toEqual(["acme/echo/v1/echo.proto"]);
  });

  it("answers an unknown file or symbol with NOT_FOUND in the stream, and carries on", async () => {
    const [file, symbol, list] = await ask(
      v1Client(echoView),
      { messageRequest: { case: "fileByFilename", value: "nope/nope.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "nope.Nope.Do" } },
      { messageRequest: { case: "listServices", value: "" } },
    );
    expect(file.messageResponse).toMatchObject({
      case: "errorResponse",
      value: { errorCode: 5, errorMessage: 'file "nope/nope.proto" not found' },
    });
    expect(symbol.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
    expect(listed(list)).toContain(ECHO_SERVICE);
  });

  it("echoes the host and the request it answers", async () => {
    const [res] = await ask(v1Client(echoView), {
      host: "gw.example",
      messageRequest: { case: "listServices", value: "*" },
    });
    expect(res.validHost).toBe("gw.example");
    expect(res.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
  });

  it("answers v1alpha the same way", async () => {
    const client = createClient(
      v1alpha.ServerReflection,
      createRouterTransport((router) => registerReflection(router, echoView)),
    );
    async function* send() {
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
      yield create(v1alpha.ServerReflectionRequestSchema, {
        messageRequest: { case: "fileContainingSymbol", value: `${ECHO_SERVICE}.Count` },
      });
      yield create(v1alpha.ServerReflectionRequestSchema, {
        messageRequest: { case: "fileContainingSymbol", value: "nope.Nope" },
      });
    }
    const out: v1alpha.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(send())) out.push(res);
    expect(out).toHaveLength(3);
    const [list, file, missing] = out;
    if (list.messageResponse.case !== "listServicesResponse") throw new Error(`got ${list.messageResponse.case}`);
    expect(list.messageResponse.value.service.map((s) => s.name).sort()).toEqual([ECHO_SERVICE, ...REFLECTION].sort());
    if (file.messageResponse.case !== "fileDescriptorResponse") throw new Error(`got ${file.messageResponse.case}`);
    expect(
      file.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name),
    ).toEqual(["acme/echo/v1/echo.proto"]);
    expect(missing.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});
