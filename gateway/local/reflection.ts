import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { MethodCatalogue } from "../route/method-catalogue.js";

/** What reflection answers from: the current snapshot's methods, and which services a route reaches. */
export interface ReflectionView {
  methods: MethodCatalogue;
  routed: (service: string) => boolean;
}

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * gRPC server reflection (v1 and v1alpha) answered by the gateway itself
 * from the descriptors it already holds, so `grpcurl localhost:8080 list`
 * works however the upstreams are built.
 */
export function registerReflection(router: ConnectRouter, current: () => ReflectionView): void {
  const answer = (req: v1.ServerReflectionRequest): v1.ServerReflectionResponse["messageResponse"] => {
    // The snapshot current when the request arrives: a reload shows at once.
    const { methods, routed } = current();
    const listed = () => [
      ...methods.serviceNames().filter(routed),
      v1.ServerReflection.typeName,
      v1alpha.ServerReflection.typeName,
    ];
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(v1.ListServiceResponseSchema, { service: listed().map((name) => ({ name })) }),
        };
      case "fileByFilename": {
        const f = methods.files.get(r.value);
        return f ? files(f) : error(NOT_FOUND, `file "${r.value}" not found`);
      }
      case "fileContainingSymbol": {
        const f = fileOfSymbol(methods, r.value);
        return f ? files(f) : error(NOT_FOUND, `symbol "${r.value}" not found`);
      }
      case "allExtensionNumbersOfType":
        return {
          case: "allExtensionNumbersResponse",
          value: create(v1.ExtensionNumberResponseSchema, { baseTypeName: r.value, extensionNumber: [] }),
        };
      default:
        return error(UNIMPLEMENTED, "this reflection request is not supported by the gateway");
    }
  };
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(reqs) {
      for await (const req of reqs) yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
    },
  });
  router.service(v1alpha.ServerReflection, {
    // v1alpha is wire-identical; reuse the v1 logic on converted messages.
    async *serverReflectionInfo(reqs) {
      for await (const req of reqs) {
        const asV1 = create(v1.ServerReflectionRequestSchema, req as unknown as v1.ServerReflectionRequest);
        const res = answer(asV1);
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: res as unknown as v1alpha.ServerReflectionResponse["messageResponse"],
        });
      }
    },
  });
}

function files(f: DescFile): v1.ServerReflectionResponse["messageResponse"] {
  // The file first, then its imports, as grpc-go's reflection does.
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const add = (d: DescFile) => {
    if (seen.has(d.name)) return;
    seen.add(d.name);
    out.push(toBinary(FileDescriptorProtoSchema, d.proto));
    d.dependencies.forEach(add);
  };
  add(f);
  return {
    case: "fileDescriptorResponse",
    value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto: out }),
  };
}

function fileOfSymbol(methods: MethodCatalogue, symbol: string): DescFile | undefined {
  const direct = methods.registry.get(symbol);
  if (direct) return direct.file;
  // "pkg.Service.Method": the method's service.
  const dot = symbol.lastIndexOf(".");
  const parent = dot > 0 ? methods.registry.getService(symbol.slice(0, dot)) : undefined;
  return parent?.file;
}

function error(code: number, message: string): v1.ServerReflectionResponse["messageResponse"] {
  return { case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode: code, errorMessage: message }) };
}
