import type { CallHead } from "../call/call.js";
import { Code, CallError } from "../call/status.js";
import { Deadline } from "../call/deadline.js";
import type { InboundCall, InboundProtocol, ServerRequest } from "../protocol/contract.js";
import { takesWholeRequest } from "../protocol/outbound.js";
import { transcoder, type Transcoder } from "../transcode/transcode.js";
import type { Cluster } from "../cluster/cluster.js";
import type { ClusterPolicy } from "../policy/cluster-policy.js";
import type { Route, RouteTable } from "./route-table.js";
import type { MethodCatalogue } from "./method-catalogue.js";

/** A cluster as a snapshot offers it to calls: its endpoints and the call policy for it. */
export interface Upstream {
  cluster: Cluster;
  policy: ClusterPolicy;
}

/** What planning reads: the parts of a config snapshot that decide where a call goes. */
export interface RoutingView {
  routes: RouteTable;
  upstreams: ReadonlyMap<string, Upstream>;
  methods: MethodCatalogue;
  /** limits.maxJsonDepth, for the transcoders; none when unset. */
  maxJsonDepth?: number;
}

/** Everything decided about a call before the first byte goes upstream. */
export interface CallPlan {
  route: Route;
  cluster: Cluster;
  policy: ClusterPolicy;
  upstreamHead: CallHead;
  deadline: Deadline | undefined;
  requestTranscoder: Transcoder | undefined;
  responseTranscoder: Transcoder | undefined;
  /** Retries and hedges may repeat the call. */
  safe: boolean;
  /**
   * Read the request whole and send it as it came (the unary lane,
   * docs/DESIGN.md): a unary method whose request the inbound side can read
   * whole, to an upstream protocol that can take it so.
   */
  readWhole: boolean;
}

/** Route, method facts, codecs, deadline and lane for one call; throws a CallError the client should see. */
export function planCall(
  view: RoutingView,
  protocol: InboundProtocol,
  req: ServerRequest,
  call: InboundCall,
): CallPlan {
  const head = call.head;
  // GET carries a request only in Connect's form (the message in the query);
  // a gRPC one would go upstream with no request at all.
  if (req.method === "GET" && protocol.name !== "connect") {
    throw new CallError(
      Code.UNIMPLEMENTED,
      `${protocol.name} calls must use POST; only Connect unary calls may use GET`,
    );
  }
  const info = view.methods.lookup(head.path);
  if (info) head.kind = info.kind;
  const route = view.routes.match(head.path);
  if (!route) throw new CallError(Code.UNIMPLEMENTED, `no route for ${head.path}: add a route whose match covers it`);
  const upstream = view.upstreams.get(route.cluster);
  if (!upstream) throw new CallError(Code.INTERNAL, `route for ${head.path} names unknown cluster "${route.cluster}"`);
  const { cluster, policy } = upstream;
  // A bidi call over HTTP/1.1 (Connect or gRPC-Web) is half-duplex: the
  // client sends its whole request, then reads the whole response, as
  // connect-go serves it. It streams through like a client stream, with the
  // same limits. An HTTP/1.1 upstream is another matter: a call that came
  // over HTTP/2 may be full-duplex, which HTTP/1.1 cannot carry, and even a
  // half-duplex one is the upstream's to refuse (connect-es answers HTTP 505
  // to any bidi call over HTTP/1.1; connect-go serves it): refused here, with
  // a clear message, rather than failed there.
  if (cluster.config.http === "1.1" && head.kind === "bidi_streaming") {
    throw new CallError(
      Code.UNIMPLEMENTED,
      `${head.path} is a bidi streaming method, but cluster "${cluster.name}" speaks HTTP/1.1 upstream, which cannot carry it; set http: "2" on the cluster`,
    );
  }
  if (req.method === "GET" && info && !info.noSideEffects) {
    throw new CallError(
      Code.UNIMPLEMENTED,
      `${head.path} is not marked NO_SIDE_EFFECTS, so it cannot be called with GET; use POST`,
    );
  }
  const outCodec = cluster.config.codec === "same" ? head.codec : cluster.config.codec;
  let requestTranscoder: Transcoder | undefined;
  let responseTranscoder: Transcoder | undefined;
  if (outCodec !== head.codec) {
    if (!info) {
      throw new CallError(
        Code.UNIMPLEMENTED,
        `cannot translate ${head.codec} to ${outCodec} for ${head.path}: no descriptor for this method (add its FileDescriptorSet to descriptorSets, or set codec: same on cluster "${cluster.name}")`,
      );
    }
    const reg = view.methods.registry;
    requestTranscoder = transcoder(head.codec, outCodec, info.desc.input, reg, "request", view.maxJsonDepth);
    responseTranscoder = transcoder(outCodec, head.codec, info.desc.output, reg, "response", view.maxJsonDepth);
  }
  return {
    route,
    cluster,
    policy,
    upstreamHead: { ...head, codec: outCodec },
    deadline: Deadline.after(head.timeoutMs ?? route.timeoutMs ?? cluster.config.timeoutMs),
    requestTranscoder,
    responseTranscoder,
    safe: policy.safeToRepeat(head.path, info?.idempotent ?? false),
    readWhole: head.kind === "unary" && call.readWhole !== undefined && takesWholeRequest(cluster.protocol),
  };
}
