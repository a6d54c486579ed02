import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { thrownCallError } from "../../test/helpers/thrown.js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EchoRequestSchema, EchoResponseSchema, file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import type { Codec, MethodKind } from "../call/call.js";
import { Code } from "../call/status.js";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { defaultResilience } from "../config/resilience.js";
import type { ClusterConfig, GatewayConfig, RouteConfig } from "../config/types.js";
import type { InboundCall, InboundProtocol, ServerRequest } from "../protocol/contract.js";
import { connectInbound } from "../protocol/connect/inbound.js";
import { grpcInbound } from "../protocol/grpc/inbound.js";
import { buildSnapshot } from "../snapshot/snapshot.js";
import { planCall, type CallPlan } from "./call-plan.js";
import { MethodCatalogue } from "./method-catalogue.js";
import { defaultLimits, defaultOverload } from "../config/limits.js";

const ECHO = "/acme.echo.v1.EchoService/Echo";
const COUNT = "/acme.echo.v1.EchoService/Count";
const CHAT = "/acme.echo.v1.EchoService/Chat";
const WRITE = "/acme.echo.v1.EchoService/Write";
const UNKNOWN = "/other.v1.Unknown/Do";

let manager: ClusterManager;
beforeEach(() => {
  manager = new ClusterManager();
});
afterEach(async () => {
  await manager.close();
});

type ClusterSettings = Partial<Omit<ClusterConfig, "resilience">> & { idempotentMethods?: string[] };

/** A snapshot with one cluster, "up", and the demo's descriptors; every path goes to it unless `routes` says otherwise. */
function view(settings: ClusterSettings = {}, routes: RouteConfig[] = [{ match: { prefix: "/" }, cluster: "up" }]) {
  const { idempotentMethods = [], ...over } = settings;
  const resilience = defaultResilience();
  resilience.healthCheck.enabled = false;
  resilience.idempotentMethods = idempotentMethods;
  const cluster: ClusterConfig = {
    name: "up",
    protocol: "grpc",
    http: "2",
    codec: "same",
    compression: "identity",
    connectTimeoutMs: 5000,
    endpoints: [{ address: "127.0.0.1:1", host: "127.0.0.1", port: 1, weight: 1, priority: 0 }],
    resilience,
    ...over,
  } as ClusterConfig;
  const config: GatewayConfig = {
    listeners: [],
    limits: { ...defaultLimits(), maxMessageBytes: 1 << 20 },
    overload: defaultOverload(),
    drainTimeoutMs: 1000,
    descriptorSets: [],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map([["up", cluster]]),
    routes,
  };
  return buildSnapshot(config, { clusters: manager }, new MethodCatalogue([], [file_acme_echo_v1_echo]));
}

interface CallSettings {
  codec?: Codec;
  timeoutMs?: number;
  kind?: MethodKind;
  readWhole?: boolean;
  method?: "GET" | "POST";
  httpVersionMajor?: number;
  protocol?: InboundProtocol;
}

function plan(v: ReturnType<typeof view>, path: string, s: CallSettings = {}): CallPlan {
  const [, service, method] = path.split("/");
  const call: InboundCall = {
    head: { path, service, method, kind: s.kind, codec: s.codec ?? "proto", metadata: {}, timeoutMs: s.timeoutMs },
    messages: (async function* () {})(),
    readWhole: s.readWhole === false ? undefined : async () => [],
  };
  const req = {
    method: s.method ?? "POST",
    url: path,
    httpVersionMajor: s.httpVersionMajor ?? 2,
    headers: {},
  } as unknown as ServerRequest;
  return planCall(v, s.protocol ?? grpcInbound, req, call);
}

describe("planCall: where the call goes", () => {
  it("answers a path no route covers with UNIMPLEMENTED", () => {
    const v = view({}, [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "up" }]);
    const err = thrownCallError(() => plan(v, UNKNOWN));
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toBe(`no route for ${UNKNOWN}: add a route whose match covers it`);
  });

  it("answers a route naming a cluster the snapshot lacks with INTERNAL, naming it", () => {
    const v = view({}, [{ match: { prefix: "/" }, cluster: "gone" }]);
    const err = thrownCallError(() => plan(v, ECHO));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toContain('unknown cluster "gone"');
  });

  it("plans the routed cluster and its policy, and fills in the method's kind from descriptors", () => {
    const v = view();
    const p = plan(v, COUNT);
    expect(p.cluster).toBe(v.upstreams.get("up")!.cluster);
    expect(p.policy).toBe(v.upstreams.get("up")!.policy);
    expect(p.upstreamHead.kind).toBe("server_streaming");
    expect(p.upstreamHead.path).toBe(COUNT);
  });
});

describe("planCall: GET", () => {
  it("refuses GET for a method not marked NO_SIDE_EFFECTS", () => {
    const err = thrownCallError(() => plan(view(), WRITE, { method: "GET", protocol: connectInbound }));
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toMatch(/not marked NO_SIDE_EFFECTS.*use POST/);
  });

  it("takes GET for a NO_SIDE_EFFECTS method, and for a method it has no descriptor for", () => {
    expect(plan(view(), ECHO, { method: "GET", protocol: connectInbound }).upstreamHead.path).toBe(ECHO);
    expect(plan(view(), UNKNOWN, { method: "GET", protocol: connectInbound }).upstreamHead.path).toBe(UNKNOWN);
  });
});

describe("planCall: bidi streaming and HTTP/1.1", () => {
  it("plans a Connect bidi call that came over HTTP/1.1 (served half-duplex, as connect-go does)", () => {
    expect(plan(view(), CHAT, { protocol: connectInbound, httpVersionMajor: 1 }).upstreamHead.kind).toBe(
      "bidi_streaming",
    );
  });

  it("refuses a gRPC call over GET: only Connect unary calls may use it", () => {
    const err = thrownCallError(() => plan(view(), ECHO, { method: "GET" }));
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toContain("must use POST");
  });

  it("refuses a bidi call to a cluster that speaks HTTP/1.1 upstream, saying what to set", () => {
    const err = thrownCallError(() => plan(view({ http: "1.1" }), CHAT));
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toContain('set http: "2" on the cluster');
    expect(plan(view({ http: "1.1" }), ECHO).upstreamHead.kind).toBe("unary");
  });
});

describe("planCall: codecs", () => {
  it("keeps the client's codec and translates nothing with codec: same", () => {
    const p = plan(view({ codec: "same" }), ECHO, { codec: "json" });
    expect(p.upstreamHead.codec).toBe("json");
    expect(p.requestTranscoder).toBeUndefined();
    expect(p.responseTranscoder).toBeUndefined();
  });

  it("translates requests to the cluster's codec and responses back", () => {
    const p = plan(view({ protocol: "connect", codec: "json" }), ECHO, { codec: "proto" });
    expect(p.upstreamHead.codec).toBe("json");
    const up = p.requestTranscoder!(toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "hi" })));
    expect(JSON.parse(Buffer.from(up).toString())).toEqual({ message: "hi" });
    const down = p.responseTranscoder!(Buffer.from('{"message":"hi","replica":"r1"}'));
    expect(fromBinary(EchoResponseSchema, down)).toMatchObject({ message: "hi", replica: "r1" });
  });

  it("translates nothing when the client already speaks the cluster's codec", () => {
    const p = plan(view({ codec: "json" }), ECHO, { codec: "json" });
    expect(p.requestTranscoder).toBeUndefined();
    expect(p.responseTranscoder).toBeUndefined();
  });

  it("answers a translation it has no descriptor for with UNIMPLEMENTED naming both fixes", () => {
    const err = thrownCallError(() => plan(view({ codec: "json" }), UNKNOWN, { codec: "proto" }));
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toContain(`cannot translate proto to json for ${UNKNOWN}`);
    expect(err.message).toContain("descriptorSets");
    expect(err.message).toContain('codec: same on cluster "up"');
  });

  it("leaves the client's head as it was", () => {
    const v = view({ codec: "json" });
    const [, service, method] = ECHO.split("/");
    const head = {
      path: ECHO,
      service,
      method,
      kind: undefined,
      codec: "proto" as const,
      metadata: {},
      timeoutMs: undefined,
    };
    const req = { method: "POST", url: ECHO, httpVersionMajor: 2, headers: {} } as unknown as ServerRequest;
    const p = planCall(v, grpcInbound, req, { head, messages: (async function* () {})() });
    expect(p.upstreamHead.codec).toBe("json");
    expect(head.codec).toBe("proto");
  });
});

describe("planCall: deadline", () => {
  const routes = (timeoutMs?: number): RouteConfig[] => [{ match: { prefix: "/" }, cluster: "up", timeoutMs }];

  it("takes the client's timeout first", () => {
    expect(plan(view({ timeoutMs: 5000 }, routes(2000)), ECHO, { timeoutMs: 1000 }).deadline?.timeoutMs).toBe(1000);
  });

  it("else the route's, else the cluster's", () => {
    expect(plan(view({ timeoutMs: 5000 }, routes(2000)), ECHO).deadline?.timeoutMs).toBe(2000);
    expect(plan(view({ timeoutMs: 5000 }, routes()), ECHO).deadline?.timeoutMs).toBe(5000);
  });

  it("has none when nobody set one", () => {
    expect(plan(view({}, routes()), ECHO).deadline).toBeUndefined();
  });

  it("starts the deadline at planning time", () => {
    const d = plan(view(), ECHO, { timeoutMs: 1000 }).deadline!;
    expect(d.remaining()).toBeGreaterThan(800);
    expect(d.remaining()).toBeLessThanOrEqual(950);
  });
});

describe("planCall: safe to repeat", () => {
  it("follows the proto's idempotency level", () => {
    expect(plan(view(), ECHO).safe).toBe(true);
    expect(plan(view(), COUNT).safe).toBe(true);
    expect(plan(view(), WRITE).safe).toBe(false);
    expect(plan(view(), UNKNOWN).safe).toBe(false);
  });

  it("or the cluster's idempotentMethods, by full path", () => {
    const v = view({ idempotentMethods: [WRITE, UNKNOWN] });
    expect(plan(v, WRITE).safe).toBe(true);
    expect(plan(v, UNKNOWN).safe).toBe(true);
    expect(plan(v, CHAT).safe).toBe(false);
  });
});

describe("planCall: the unary lane", () => {
  it("reads whole a unary call the inbound side can read whole, to a gRPC or gRPC-Web upstream", () => {
    expect(plan(view({ protocol: "grpc" }), ECHO).readWhole).toBe(true);
    expect(plan(view({ protocol: "grpc-web" }), WRITE).readWhole).toBe(true);
  });

  it("not when the inbound side cannot read it whole", () => {
    expect(plan(view(), ECHO, { readWhole: false }).readWhole).toBe(false);
  });

  it("not to a Connect upstream", () => {
    expect(plan(view({ protocol: "connect" }), ECHO).readWhole).toBe(false);
  });

  it("not for streaming methods, nor methods whose kind nothing tells", () => {
    expect(plan(view(), COUNT).readWhole).toBe(false);
    expect(plan(view(), CHAT).readWhole).toBe(false);
    expect(plan(view(), UNKNOWN).readWhole).toBe(false);
  });

  it("for a method the inbound protocol says is unary, without descriptors", () => {
    expect(plan(view(), UNKNOWN, { kind: "unary" }).readWhole).toBe(true);
  });
});
