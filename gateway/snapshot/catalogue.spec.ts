import { defaultLimits, defaultOverload } from "../config/limits.js";
import { create } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
  MethodOptions_IdempotencyLevel,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import type { GatewayConfig } from "../config/types.js";
import type { LearnedSource } from "../descriptors/reflection-manager.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import { CatalogueKeeper } from "./catalogue.js";

function config(learning = true): GatewayConfig {
  const shop = clusterConfig([endpointAt(1)], { name: "shop" });
  if (learning) shop.descriptors = { from: "reflection", refreshMs: 60_000 };
  return {
    listeners: [],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 100,
    descriptorSets: [],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map([["shop", shop]]),
    routes: [{ match: { prefix: "/" }, cluster: "shop" }],
  };
}

/** shop.v1.ShopService with Get (NO_SIDE_EFFECTS), and Put in version 2. */
function shopFile(v2 = false): FileDescriptorProto {
  return create(FileDescriptorProtoSchema, {
    name: "shop/v1/shop.proto",
    package: "shop.v1",
    syntax: "proto3",
    messageType: [{ name: "Item", field: [{ name: "id", number: 1, type: 9, label: 1, jsonName: "id" }] }],
    service: [
      {
        name: "ShopService",
        method: [
          {
            name: "Get",
            inputType: ".shop.v1.Item",
            outputType: ".shop.v1.Item",
            options: create(MethodOptionsSchema, { idempotencyLevel: MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS }),
          },
          ...(v2 ? [{ name: "Put", inputType: ".shop.v1.Item", outputType: ".shop.v1.Item" }] : []),
        ],
      },
    ],
  });
}

function source(address: string, files: FileDescriptorProto[]): LearnedSource {
  return { cluster: "shop", address, name: `cluster "shop" endpoint ${address}`, files };
}

function keeper(): { keeper: CatalogueKeeper; events: string[] } {
  const events: string[] = [];
  return { keeper: new CatalogueKeeper([], (m) => events.push(m)), events };
}

describe("CatalogueKeeper", () => {
  it("builds a catalogue whose learned methods carry kind and idempotency", () => {
    const { keeper: k, events } = keeper();
    const c = k.relearn(config(), [source("10.0.0.1:1", [shopFile()])])!;
    expect(c.lookup("/shop.v1.ShopService/Get")).toMatchObject({ kind: "unary", noSideEffects: true });
    expect(c.learnedServices).toEqual(["shop.v1.ShopService"]);
    expect(k.status()).toMatchObject({ state: "ok", learnedServices: ["shop.v1.ShopService"], conflicts: [] });
    expect(events).toEqual([
      "method catalogue rebuilt from the server reflection of 1 endpoint(s): knows shop.v1.ShopService (added shop.v1.ShopService)",
    ]);
  });

  it("refuses a lesson with a conflict: no new catalogue, the state says why, logged once", () => {
    const { keeper: k, events } = keeper();
    k.relearn(config(), [source("10.0.0.1:1", [shopFile()])]);
    const mixed = [source("10.0.0.1:1", [shopFile()]), source("10.0.0.2:1", [shopFile(true)])];
    expect(k.relearn(config(), mixed)).toBeUndefined();
    expect(k.relearn(config(), [...mixed])).toBeUndefined();
    const sources: [string, string] = ['cluster "shop" endpoint 10.0.0.1:1', 'cluster "shop" endpoint 10.0.0.2:1'];
    expect(k.status()).toMatchObject({ state: "conflict", conflicts: [{ name: "shop.v1.ShopService", sources }] });
    expect(events.slice(1)).toEqual([
      `server reflection conflict, the method catalogue stays as it was: shop.v1.ShopService is defined differently by ${sources[0]} and by ${sources[1]}`,
    ]);
    // Once they agree, the new API is taken.
    const c = k.relearn(config(), [source("10.0.0.2:1", [shopFile(true)])])!;
    expect(c.lookup("/shop.v1.ShopService/Put")).toBeDefined();
    expect(k.status()).toMatchObject({ state: "ok", conflicts: [] });
  });

  it("a new config keeps the lessons of clusters that still learn, and drops the others", () => {
    const { keeper: k } = keeper();
    k.relearn(config(), [source("10.0.0.1:1", [shopFile()])]);
    expect(k.forConfig(config()).lookup("/shop.v1.ShopService/Get")).toBeDefined();
    expect(k.forConfig(config(false)).lookup("/shop.v1.ShopService/Get")).toBeUndefined();
    expect(k.status().learnedServices).toEqual([]);
  });

  it("the same lessons again change nothing", () => {
    const { keeper: k, events } = keeper();
    const lessons = [source("10.0.0.1:1", [shopFile()])];
    expect(k.relearn(config(), lessons)).toBeDefined();
    expect(k.relearn(config(), [...lessons])).toBeUndefined();
    expect(events).toHaveLength(1);
  });
});
