// The Kubernetes discovery scenario, run inside a network namespace of its own
// by test/discovery/kubernetes.test.ts (`unshare --net -- node --import tsx
// test/kubernetes/scenario.ts DIR`): etcd, a real kube-apiserver, three
// replicas and a gateway following a Service's EndpointSlices, and the test
// playing the EndpointSlice controller. It prints one line, `RESULT {json}`,
// with what each step saw; the test asserts on it. Progress goes to stderr.
import { KubeConfig } from "@kubernetes/client-node";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { KubernetesProvider } from "../../gateway/discovery/kubernetes-provider.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { ADMIN_TOKEN, ControlPlane, GATEWAY_TOKEN, GATEWAY_USER } from "./control-plane.js";
import { setUpLoopback } from "./network-namespace.js";
import { grantGateway } from "./rbac.js";
import { Slices } from "./slices.js";

/** What one step waited for and what it saw last. */
export interface Step {
  ok: boolean;
  ms: number;
  saw: unknown;
}

export interface ScenarioResult {
  steps: Record<string, Step>;
  /** A second provider's steps (listed, watching, expired, ...), each with seconds since the start. */
  trace: string[];
  /** Its lists (addresses) and errors, in order. */
  sink: string[];
  error?: string;
}

const APISERVER_IP = "192.0.2.1";
const REPLICA_IPS = { r1: "192.0.2.11", r2: "192.0.2.12", r3: "192.0.2.13" };
const PORT = 50051;
const NAMESPACE = "shop";
const GRPC = { name: "grpc", port: PORT };

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[k8s ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const result: ScenarioResult = { steps: {}, trace: [], sink: [] };

async function waitFor(
  name: string,
  look: () => Promise<unknown>,
  want: (v: unknown) => boolean,
  timeoutMs: number,
): Promise<void> {
  const start = Date.now();
  let saw: unknown;
  for (;;) {
    saw = await look().catch((err: Error) => `error: ${err.message}`);
    if (want(saw) || Date.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ok = want(saw);
  result.steps[name] = { ok, ms: Date.now() - start, saw };
  log(`${name}: ${ok ? "ok" : "NOT MET"} after ${Date.now() - start} ms, saw ${JSON.stringify(saw)}`);
  // Later steps build on this one: stop here rather than wait out every timeout after it.
  if (!ok) throw new Error(`step ${name}: not met after ${timeoutMs} ms`);
}

const same = (want: unknown) => (v: unknown) => JSON.stringify(v) === JSON.stringify(want);

async function main(dir: string): Promise<void> {
  setUpLoopback([APISERVER_IP, ...Object.values(REPLICA_IPS)]);
  const cp = new ControlPlane(dir, APISERVER_IP);
  let gateway: Gateway | undefined;
  let provider: KubernetesProvider | undefined;
  const replicas: Replica[] = [];
  try {
    log("starting etcd and kube-apiserver");
    let t = Date.now();
    await cp.start();
    result.steps.apiserverReady = { ok: true, ms: Date.now() - t, saw: "ok" };
    log(`kube-apiserver ready after ${Date.now() - t} ms`);

    const admin = new KubeConfig();
    admin.loadFromFile(cp.kubeconfig("admin", ADMIN_TOKEN));
    await grantGateway(admin, NAMESPACE, GATEWAY_USER);
    const slices = new Slices(admin, NAMESPACE);
    for (const [name, host] of Object.entries(REPLICA_IPS))
      replicas.push(await startReplica({ name, host, port: PORT }));
    // The gateway reads what a pod's KUBECONFIG would point at: a token RBAC allows only get/list/watch on slices.
    process.env.KUBECONFIG = cp.kubeconfig("gateway", GATEWAY_TOKEN);

    // r2's ready is left out (counts as ready); r3 is not ready, and is ready only in another Service's slice.
    await slices.put("echo-a", "echo", GRPC, [
      { ip: REPLICA_IPS.r1, ready: true },
      { ip: REPLICA_IPS.r2 },
      { ip: REPLICA_IPS.r3, ready: false },
    ]);
    await slices.put("other-a", "other", GRPC, [{ ip: REPLICA_IPS.r3, ready: true }]);

    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        admin: { port: 0 },
        clusters: {
          echo: {
            protocol: "grpc",
            healthCheck: false,
            slowStart: "0s",
            discovery: { kubernetes: { namespace: NAMESPACE, service: "echo", port: "grpc" } },
          },
        },
        routes: [{ match: { prefix: "/" }, cluster: "echo" }],
      },
      dir,
    );
    gateway = await startGateway(config, {
      descriptors: demoDescriptors,
      onClusterEvent: (line) => log(`gateway: ${line}`),
    });
    const url = `http://127.0.0.1:${gateway.ports[0]}`;
    const adminUrl = `http://127.0.0.1:${gateway.adminPort}`;
    const client = echoClient(CLIENT_KINDS[0], url);
    const replies = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await client.echo({ message: "x" })).replica);
      return [...seen].sort();
    };
    const discovery = async () => {
      const ready = (await (await fetch(`${adminUrl}/ready`)).json()) as {
        discovery: Array<{ state: string; endpoints: number; error?: string }>;
      };
      return ready.discovery[0];
    };
    const state = async () => {
      const d = await discovery();
      return { state: d.state, endpoints: d.endpoints };
    };

    // A second provider, on its own, whose steps the test reads: watches the server ends
    // every 2 s (and it reopens), and the 410 after a restart.
    provider = new KubernetesProvider(
      { namespace: NAMESPACE, service: "echo", port: "grpc" },
      {
        watchSeconds: () => 2,
        trace: (line) => result.trace.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`),
      },
    );
    provider.start({
      list: (endpoints) => result.sink.push(`list ${endpoints.map((e) => e.address).join(",")}`),
      error: (err) => result.sink.push(`error ${err.message}`),
    });

    await waitFor("created", replies, same(["r1", "r2"]), 20_000);
    // The traced provider's watch, ended by the server after 2 s, is open again (changes below reach it).
    const reopened = async () =>
      result.trace
        .slice(result.trace.findIndex((l) => l.endsWith("watch ended")))
        .some((l) => l.includes("watching from"));
    await waitFor(
      "watchReopened",
      async () => result.trace.some((l) => l.endsWith("watch ended")) && (await reopened()),
      same(true),
      15_000,
    );

    await slices.put("echo-a", "echo", GRPC, [
      { ip: REPLICA_IPS.r1, ready: true },
      { ip: REPLICA_IPS.r2, ready: false },
      { ip: REPLICA_IPS.r3, ready: false },
    ]);
    await waitFor("notReady", replies, same(["r1"]), 20_000);

    await slices.put("echo-b", "echo", GRPC, [{ ip: REPLICA_IPS.r3, ready: true }]);
    await waitFor("secondSlice", replies, same(["r1", "r3"]), 20_000);

    await slices.delete("echo-b");
    await waitFor("sliceDeleted", replies, same(["r1"]), 20_000);

    log("stopping kube-apiserver");
    await cp.stopApiserver();
    await waitFor("apiserverStopped", state, same({ state: "failing", endpoints: 1 }), 20_000);
    await waitFor("lastSetKept", replies, same(["r1"]), 5_000);
    result.steps.failingError = { ok: true, ms: 0, saw: (await discovery()).error };
    await cp.advanceEtcd(5);

    log("starting kube-apiserver again");
    t = Date.now();
    await cp.startApiserver();
    log(`kube-apiserver ready again after ${Date.now() - t} ms`);
    await waitFor("recovered", state, same({ state: "ok", endpoints: 1 }), 60_000);

    await slices.put("echo-a", "echo", GRPC, [
      { ip: REPLICA_IPS.r1, ready: true },
      { ip: REPLICA_IPS.r2, ready: true },
    ]);
    await waitFor("afterRestart", replies, same(["r1", "r2"]), 20_000);
    // The traced provider got there too (through its 410 Gone and new list).
    await waitFor(
      "providerAfterRestart",
      async () => result.sink.at(-1),
      same(`list ${REPLICA_IPS.r1}:${PORT},${REPLICA_IPS.r2}:${PORT}`),
      60_000,
    );
  } catch (err) {
    result.error = `${(err as Error).stack ?? err}`;
  } finally {
    await provider?.stop();
    await gateway?.close();
    await Promise.all(replicas.map((r) => r.close()));
    await cp.close();
  }
}

const dir = process.argv[2];
if (!dir) throw new Error("usage: scenario.ts DIR (a fresh folder for etcd, keys and logs)");
await main(dir);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
