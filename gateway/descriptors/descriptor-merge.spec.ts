import { clone, create } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  MethodDescriptorProtoSchema,
  MethodOptionsSchema,
  MethodOptions_IdempotencyLevel,
  file_google_protobuf_timestamp,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { mergeDescriptors } from "./descriptor-merge.js";

const echo = () => clone(FileDescriptorProtoSchema, file_acme_echo_v1_echo.proto);
const builtIn = { name: "built-in", files: [echo(), file_google_protobuf_timestamp.proto] };

/** A small file `name` in package `pkg` with one service, as an upstream would describe it. */
function api(pkg: string, opts: { extraMethod?: boolean; imports?: string[]; noJsonNames?: boolean } = {}) {
  const f = create(FileDescriptorProtoSchema, {
    name: `${pkg.replaceAll(".", "/")}/api.proto`,
    package: pkg,
    syntax: "proto3",
    dependency: opts.imports ?? [],
    messageType: [
      {
        name: "GetRequest",
        field: [{ name: "item_id", number: 1, type: 9, label: 1, jsonName: opts.noJsonNames ? undefined : "itemId" }],
      },
    ],
    service: [
      {
        name: "ApiService",
        method: [
          {
            name: "Get",
            inputType: `.${pkg}.GetRequest`,
            outputType: `.${pkg}.GetRequest`,
            options: create(MethodOptionsSchema, { idempotencyLevel: MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS }),
          },
          ...(opts.extraMethod
            ? [{ name: "Put", inputType: `.${pkg}.GetRequest`, outputType: `.${pkg}.GetRequest` }]
            : []),
        ],
      },
    ],
  });
  return f;
}

const names = (files: FileDescriptorProto[]) => files.map((f) => f.name);

describe("mergeDescriptors", () => {
  it("takes what endpoints say beside the gateway's own files, the same API from every replica once", () => {
    const r = mergeDescriptors(
      [builtIn],
      [
        { name: "a", files: [api("shop.v1")] },
        { name: "b", files: [api("shop.v1")] },
        { name: "c", files: [api("bank.v1")] },
      ],
    );
    expect(r.conflicts).toEqual([]);
    expect(r.taken).toEqual(["a", "b", "c"]);
    expect(names(r.files)).toEqual(["bank/v1/api.proto", "shop/v1/api.proto"]);
  });

  it("refuses a source whose definition differs from an earlier one, names both, and keeps the others", () => {
    const r = mergeDescriptors(
      [builtIn],
      [
        { name: "a", files: [api("shop.v1")] },
        { name: "b", files: [api("shop.v1", { extraMethod: true })] },
        { name: "c", files: [api("bank.v1")] },
      ],
    );
    expect(r.conflicts).toEqual([{ name: "shop.v1.ApiService", sources: ["a", "b"] }]);
    expect(r.taken).toEqual(["a", "c"]);
  });

  it("finds a conflict with the gateway's own descriptors under another file name", () => {
    const mine = echo();
    mine.name = "elsewhere/echo.proto";
    mine.service[0].method.pop();
    const r = mergeDescriptors([builtIn], [{ name: "up", files: [mine] }]);
    expect(r.conflicts).toEqual([{ name: "acme.echo.v1.EchoService", sources: ["built-in", "up"] }]);
    expect(r.files).toEqual([]);
  });

  it("does not count json_name written out or left implicit as a difference", () => {
    const r = mergeDescriptors(
      [builtIn],
      [
        { name: "a", files: [api("shop.v1")] },
        { name: "b", files: [api("shop.v1", { noJsonNames: true })] },
      ],
    );
    expect(r.conflicts).toEqual([]);
    expect(r.taken).toEqual(["a", "b"]);
  });

  it("keeps google.protobuf's files the gateway's own, whatever release an upstream carries", () => {
    const old = clone(FileDescriptorProtoSchema, file_google_protobuf_timestamp.proto);
    old.messageType[0].field.pop();
    const r = mergeDescriptors(
      [builtIn],
      [{ name: "up", files: [api("shop.v1", { imports: ["google/protobuf/timestamp.proto"] }), old] }],
    );
    expect(r.conflicts).toEqual([]);
    // The import comes first, from the gateway's copy.
    expect(names(r.files)).toEqual(["google/protobuf/timestamp.proto", "shop/v1/api.proto"]);
    expect(r.files[0]).toBe(file_google_protobuf_timestamp.proto);
  });

  it("keeps grpc.* files the gateway's own too: a newer grpc.health.v1 is no conflict", () => {
    const health = create(FileDescriptorProtoSchema, {
      name: "grpc/health/v1/health.proto",
      package: "grpc.health.v1",
      service: [{ name: "Health", method: [{ name: "Check" }, { name: "Watch" }, { name: "List" }] }],
    });
    const base = [builtIn, { name: "health", files: [health] }];
    const newer = clone(FileDescriptorProtoSchema, health);
    newer.service[0].method.push(create(MethodDescriptorProtoSchema, { name: "Later" }));
    const r = mergeDescriptors(base, [{ name: "up", files: [api("shop.v1"), newer] }]);
    expect(r.conflicts).toEqual([]);
    expect(names(r.files)).toEqual(["shop/v1/api.proto"]);
  });

  it("leaves out a source whose files import one nobody has, and says which", () => {
    const r = mergeDescriptors(
      [builtIn],
      [{ name: "up", files: [api("shop.v1", { imports: ["shop/v1/types.proto"] })] }],
    );
    expect(r.taken).toEqual([]);
    expect(r.unresolved).toEqual([
      "up: shop/v1/api.proto imports shop/v1/types.proto, which neither it nor the gateway has",
    ]);
  });

  it("puts every file after the files it imports", () => {
    const types = create(FileDescriptorProtoSchema, {
      name: "z/types.proto",
      package: "z",
      messageType: [{ name: "T" }],
    });
    const top = api("a.v1", { imports: ["z/types.proto"] });
    const r = mergeDescriptors([builtIn], [{ name: "up", files: [top, types] }]);
    expect(names(r.files)).toEqual(["z/types.proto", "a/v1/api.proto"]);
  });

  it("is deterministic: the same sources in the same order give the same result", () => {
    const sources = [
      { name: "a", files: [api("shop.v1")] },
      { name: "b", files: [api("shop.v1", { extraMethod: true })] },
    ];
    expect(mergeDescriptors([builtIn], sources)).toEqual(mergeDescriptors([builtIn], sources));
  });
});
