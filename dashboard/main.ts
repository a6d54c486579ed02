// The admin dashboard: one WatchClusters stream (connect-web, the Connect
// protocol over fetch, on the admin API's own generated stubs) drawn into a
// panel per cluster, and a drain button per endpoint. Served by the admin
// listener at `/`; bundled by bin/build.mjs into dist/dashboard/.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../gen/switchyard/admin/v1/admin_pb.js";
import { ClusterPanel, type DrainAction } from "./view.js";

const client = createClient(AdminService, createConnectTransport({ baseUrl: location.origin }));
const main = document.getElementById("clusters")!;
const status = document.getElementById("status")!;
const panels = new Map<string, ClusterPanel>();

const drain: DrainAction = async (cluster, address, on) => {
  const r = on ? await client.drainEndpoint({ cluster, address }) : await client.undrainEndpoint({ cluster, address });
  return r.endpoint!;
};

function show(live: boolean, text: string): void {
  status.dataset.live = String(live);
  status.textContent = text;
}

/** Follows WatchClusters for as long as the page is open, reconnecting with backoff. */
async function watch(): Promise<never> {
  let backoffMs = 500;
  for (;;) {
    try {
      for await (const snap of client.watchClusters({})) {
        backoffMs = 500;
        const time = snap.time ? new Date(Number(snap.time.seconds) * 1000).toLocaleTimeString() : "";
        show(true, `live · ${time} · rates over the last ${snap.windowSeconds} s`);
        const names = new Set<string>();
        for (const c of snap.clusters) {
          names.add(c.name);
          let panel = panels.get(c.name);
          if (!panel) {
            panel = new ClusterPanel(c.name, drain);
            panels.set(c.name, panel);
          }
          panel.update(c);
          main.append(panel.section);
        }
        for (const [name, panel] of panels) {
          if (names.has(name)) continue;
          panel.section.remove();
          panels.delete(name);
        }
      }
      show(false, "the gateway ended the stream (stopping?); reconnecting…");
    } catch (err) {
      show(false, `disconnected (${err instanceof Error ? err.message : String(err)}); retrying…`);
    }
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 5000);
  }
}

void watch();
