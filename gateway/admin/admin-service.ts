import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AdminService, type EndpointSchema } from "../../gen/switchyard/admin/v1/admin_pb.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { ReloadResult } from "../snapshot/reload.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { type ClustersView, clustersView, endpointView, routeView } from "./cluster-view.js";
import { redactedConfigJson } from "./config-json.js";

/** One WatchClusters message a second. */
export const WATCH_INTERVAL_MS = 1000;

export interface AdminDeps {
  current: () => Snapshot;
  /** Gateway.reload, the one path of SIGHUP, --watch and POST /reload. */
  reload: (trigger: string) => Promise<ReloadResult>;
  draining: () => boolean;
  /** Aborted when the admin listener closes: open watches end (with OK). */
  closing: AbortSignal;
  /** With workers, the primary's answers for the whole group; without, the process answers for itself. */
  group?: GroupAnswers;
}

/** What the primary of `workers: N` answers for its workers, which serve the calls (workers/group-view.ts). */
export interface GroupAnswers {
  /** ListClusters for the group; `shared`: a watch tick, which may share an answer being made for another. */
  clusters(shared: boolean): Promise<ClustersView>;
  /** The primary's own mark is set on `ep`: hands the drain to every worker, and answers with `ep` as the group sees it. */
  setDrained(ep: Endpoint, cluster: string, on: boolean): Promise<MessageInitShape<typeof EndpointSchema>>;
}

/** switchyard.admin.v1.AdminService (proto/switchyard/admin/v1/admin.proto), on the admin listener. */
export function registerAdminService(router: ConnectRouter, deps: AdminDeps): void {
  const { current, group } = deps;
  const setDrained = (cluster: string, address: string, on: boolean) => {
    if (!cluster) throw new ConnectError("cluster is required", Code.InvalidArgument);
    if (!address)
      throw new ConnectError("address is required (host:port, as ListClusters shows it)", Code.InvalidArgument);
    const upstreams = current().upstreams;
    const up = upstreams.get(cluster);
    if (!up) {
      throw new ConnectError(
        `no cluster "${cluster}" in the config (clusters: ${[...upstreams.keys()].join(", ") || "none"})`,
        Code.NotFound,
      );
    }
    const ep = up.cluster.endpoints.setDrained(address, on);
    if (!ep) {
      const known = up.cluster.endpoints.list.map((e) => e.address);
      throw new ConnectError(
        `cluster "${cluster}" has no endpoint ${address} (endpoints: ${known.join(", ") || "none"})`,
        Code.NotFound,
      );
    }
    if (group) return group.setDrained(ep, cluster, on).then((endpoint) => ({ endpoint }));
    return { endpoint: endpointView(ep) };
  };

  router.service(AdminService, {
    listClusters: () => (group ? group.clusters(false) : clustersView(current())),

    async *watchClusters(_req, ctx) {
      const stop = AbortSignal.any([ctx.signal, deps.closing]);
      while (!stop.aborted) {
        yield group ? await group.clusters(true) : clustersView(current());
        await sleep(WATCH_INTERVAL_MS, stop);
      }
    },

    listRoutes: () => ({ routes: current().config.routes.map(routeView) }),

    getConfig: () => redactedConfigJson(current().config),

    drainEndpoint: (req) => setDrained(req.cluster, req.address, true),

    undrainEndpoint: (req) => setDrained(req.cluster, req.address, false),

    async reloadConfig() {
      if (deps.draining()) throw new ConnectError("the gateway is stopping", Code.Unavailable);
      const r = await deps.reload("admin API ReloadConfig");
      if (r.status === "rejected") {
        const list = r.problems.map((p) => `\n  - ${p}`).join("");
        throw new ConnectError(
          `reload rejected, the old config keeps serving (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}):${list}`,
          Code.FailedPrecondition,
        );
      }
      return { status: r.status, changed: r.changed, notes: r.notes };
    },
  });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
