// deploy/kubernetes/base against a real kube-apiserver, run inside network and
// mount namespaces of its own by test/kubernetes/deploy.test.ts (`unshare --net
// --mount -- node --import tsx test/kubernetes/deploy-scenario.ts DIR`). There
// is no kubelet, scheduler or controller here: the scenario plays them, from
// what the applied objects say (the pods' commands, env, volumes, service
// account, probes; the EndpointSlice controller's slices), and runs the
// gateway and replicas as the image would (dist/, the Dockerfile's
// ENTRYPOINT). It prints one line, `RESULT {json}`; the test asserts on it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { ApiClient } from "./api-client.js";
import { ADMIN_TOKEN, ControlPlane } from "./control-plane.js";
import {
  containerPort,
  find,
  podCommand,
  readDockerfile,
  renderBase,
  ROOT,
  type Deployment,
  type KubeObject,
  type Service,
} from "./manifests.js";
import { setUpLoopback } from "./network-namespace.js";
import { Slices } from "./slices.js";

export interface DeployResult {
  /** Each object's answer to a server-side dry run, and to the real create after it: "Kind/name" -> status. */
  dryRun: Record<string, { status: number; message?: string; warnings: string[] }>;
  created: Record<string, number>;
  /** `switchyard --check` on the ConfigMap's config as stored. */
  configCheck?: { code: number | null; output: string };
  /** SubjectAccessReviews for the gateway's ServiceAccount: "verb resource namespace" -> allowed. */
  access: Record<string, boolean>;
  /** Real requests with the ServiceAccount's token (TokenRequest API): path -> status. */
  tokenRequests: Record<string, number>;
  steps: Record<string, { ok: boolean; ms: number; saw: unknown }>;
  error?: string;
}

const APISERVER_IP = "192.0.2.1";
const GATEWAY_POD_IP = "192.0.2.20";
const ECHO_POD_IPS = ["192.0.2.11", "192.0.2.12", "192.0.2.13"];
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[deploy ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const result: DeployResult = { dryRun: {}, created: {}, access: {}, tokenRequests: {}, steps: {} };
const children: ChildProcess[] = [];
const same = (want: unknown) => (v: unknown) => JSON.stringify(v) === JSON.stringify(want);
const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;

async function waitFor(name: string, look: () => Promise<unknown>, want: (v: unknown) => boolean, timeoutMs: number) {
  const start = Date.now();
  let saw: unknown;
  for (;;) {
    saw = await look().catch((err: Error) => `error: ${err.message}`);
    if (want(saw) || Date.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const ok = want(saw);
  result.steps[name] = { ok, ms: Date.now() - start, saw };
  log(`${name}: ${ok ? "ok" : "NOT MET"} after ${Date.now() - start} ms, saw ${JSON.stringify(saw)}`);
  if (!ok) throw new Error(`step ${name}: not met after ${timeoutMs} ms`);
}

/** Runs a pod's command (`node` is this Node) from the repository root, as the image runs it from /app. */
function run(name: string, argv: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const [command, ...args] = argv;
  const child = spawn(command === "node" ? process.execPath : command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const line of c.toString().trimEnd().split("\n")) log(`${name}: ${line}`);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not up after 20 s:\n${out}`)), 20_000);
    child.stdout?.on("data", () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => reject(new Error(`${name} exited ${code}:\n${out}`)));
  });
}

async function main(dir: string): Promise<void> {
  setUpLoopback([APISERVER_IP, GATEWAY_POD_IP, ...ECHO_POD_IPS]);
  // This mount namespace's own /run, where the gateway's pod gets its service-account folder.
  execFileSync("mount", ["-t", "tmpfs", "tmpfs", "/run"]);
  const cp = new ControlPlane(dir, APISERVER_IP);
  try {
    const objects = renderBase();
    const image = readDockerfile();
    log("starting etcd and kube-apiserver");
    await cp.start();
    const admin = new ApiClient(cp.server, readFileSync(cp.caFile), ADMIN_TOKEN);

    // Namespaced objects can be dry-run only in a namespace that exists: the Namespace goes first, for real.
    const namespaces = objects.filter((o) => o.kind === "Namespace");
    const rest = objects.filter((o) => o.kind !== "Namespace");
    for (const group of [namespaces, rest]) {
      for (const o of group) {
        const a = await admin.create(o, { dryRun: true });
        const message = a.status >= 300 ? String(a.body.message ?? JSON.stringify(a.body)) : undefined;
        result.dryRun[key(o)] = { status: a.status, message, warnings: a.warnings };
      }
      for (const o of group) result.created[key(o)] = (await admin.create(o, { dryRun: false })).status;
    }
    log(`dry run: ${JSON.stringify(result.dryRun)}`);

    const gateway = find<Deployment>(objects, "Deployment", "switchyard");
    const echo = find<Deployment>(objects, "Deployment", "echo");
    const echoService = find<Service>(objects, "Service", "echo");
    const gatewayService = find<Service>(objects, "Service", "switchyard");
    const namespace = gateway.metadata.namespace ?? "default";
    const pod = gateway.spec.template.spec;
    const container = pod.containers[0];

    // The config volume, as the kubelet fills it: the ConfigMap's keys as files, read back as stored.
    const mount = container.volumeMounts?.find((m) => pod.volumes?.some((v) => v.name === m.name && v.configMap));
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    if (!mount || !volume?.configMap) throw new Error("the gateway's pod mounts no ConfigMap");
    const stored = await admin.request("GET", `/api/v1/namespaces/${namespace}/configmaps/${volume.configMap.name}`);
    const configDir = join(dir, "config-volume");
    mkdirSync(configDir);
    for (const [file, text] of Object.entries((stored.body.data ?? {}) as Record<string, string>))
      writeFileSync(join(configDir, file), text);
    const inPod = (arg: string) =>
      arg.startsWith(`${mount.mountPath}/`) ? configDir + arg.slice(mount.mountPath.length) : arg;
    const gatewayArgv = podCommand(container, image, {}).map(inPod);
    try {
      const out = execFileSync(
        gatewayArgv[0] === "node" ? process.execPath : gatewayArgv[0],
        [...gatewayArgv.slice(1), "--check"],
        {
          cwd: ROOT,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      result.configCheck = { code: 0, output: out.trim() };
    } catch (err) {
      const e = err as { status: number | null; stdout?: string; stderr?: string };
      result.configCheck = { code: e.status, output: `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() };
    }

    // RBAC: what the pod's ServiceAccount may do, asked of the API server's authorizer.
    const sa = pod.serviceAccountName ?? "default";
    const user = `system:serviceaccount:${namespace}:${sa}`;
    const groups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
    const verbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
    const resources: Array<[string, string]> = [
      ["discovery.k8s.io", "endpointslices"],
      ["", "pods"],
      ["", "secrets"],
      ["", "configmaps"],
      ["", "services"],
      ["", "endpoints"],
      ["", "serviceaccounts"],
      ["rbac.authorization.k8s.io", "roles"],
    ];
    const probes: Array<[string, string, string, string]> = [];
    for (const [group, resource] of resources)
      for (const verb of verbs) probes.push([verb, group, resource, namespace]);
    for (const ns of ["default", "kube-system"])
      for (const verb of ["get", "list", "watch"]) probes.push([verb, "discovery.k8s.io", "endpointslices", ns]);
    probes.push(["create", "", "serviceaccounts/token", namespace], ["list", "discovery.k8s.io", "endpointslices", ""]);
    for (const [verb, group, resource, ns] of probes) {
      const [res, subresource] = resource.split("/");
      const a = await admin.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user, groups, resourceAttributes: { verb, group, resource: res, subresource, namespace: ns } },
      });
      if (a.status !== 201) throw new Error(`SubjectAccessReview: ${a.status} ${JSON.stringify(a.body)}`);
      result.access[`${verb} ${resource} ${ns || "(all namespaces)"}`] = (
        a.body.status as { allowed: boolean }
      ).allowed;
    }

    // The pod's token, as the kubelet asks for it (TokenRequest), and what it can really do.
    const tokenAnswer = await admin.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    });
    const token = (tokenAnswer.body.status as { token?: string } | undefined)?.token;
    if (!token) throw new Error(`TokenRequest: ${tokenAnswer.status} ${JSON.stringify(tokenAnswer.body)}`);
    const asPod = admin.withToken(token);
    for (const path of [
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      `/api/v1/namespaces/${namespace}/pods`,
      `/api/v1/namespaces/${namespace}/configmaps`,
      `/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices`,
    ])
      result.tokenRequests[`GET ${path}`] = (await asPod.request("GET", path)).status;

    // The echo pods (the Deployment's replicas), each on its pod IP, running the container's command.
    const echoContainer = echo.spec.template.spec.containers[0];
    const podNames = ECHO_POD_IPS.slice(0, echo.spec.replicas ?? 1).map((_, i) => `echo-${i}`);
    await Promise.all(
      podNames.map((name, i) =>
        run(
          name,
          podCommand(echoContainer, image, { "status.podIP": ECHO_POD_IPS[i], "metadata.name": name }),
          {},
          /listening on/,
        ),
      ),
    );
    // The EndpointSlice controller's slice for the headless Service: its port, the pods' addresses.
    const slicePort = echoService.spec.ports[0];
    const slices = new Slices(kcFor(cp, "admin", ADMIN_TOKEN), namespace);
    const port = { name: slicePort.name, port: containerPort(echoContainer, slicePort.targetPort) };
    const putSlice = (notReady: string[]) =>
      slices.put(
        `${echoService.metadata.name}-abcde`,
        echoService.metadata.name,
        port,
        podNames.map((name, i) => ({ ip: ECHO_POD_IPS[i], ready: !notReady.includes(name) })),
      );
    await putSlice([]);

    // The gateway's pod: the service-account folder the kubelet mounts, the env it sets, the container's command.
    mkdirSync(SA_DIR, { recursive: true });
    writeFileSync(join(SA_DIR, "token"), token);
    writeFileSync(join(SA_DIR, "ca.crt"), readFileSync(cp.caFile));
    writeFileSync(join(SA_DIR, "namespace"), namespace);
    const gatewayProcess = await run(
      "gateway",
      gatewayArgv,
      { KUBERNETES_SERVICE_HOST: APISERVER_IP, KUBERNETES_SERVICE_PORT: String(new URL(cp.server).port) },
      /switchyard listening/,
    );

    // The kubelet's probes, at the pod's IP, on the ports they name.
    const probeUrl = (p: "livenessProbe" | "readinessProbe") => {
      const get = container[p]?.httpGet;
      if (!get) throw new Error(`the gateway container has no httpGet ${p}`);
      return `http://${GATEWAY_POD_IP}:${containerPort(container, get.port)}${get.path}`;
    };
    await waitFor("liveness", async () => (await fetch(probeUrl("livenessProbe"))).status, same(200), 10_000);
    const readiness = async () => {
      const res = await fetch(probeUrl("readinessProbe"));
      const body = (await res.json()) as { discovery?: Array<{ state: string; endpoints: number }> };
      return { status: res.status, discovery: body.discovery?.map((d) => `${d.state} ${d.endpoints}`) };
    };
    await waitFor("readiness", readiness, same({ status: 200, discovery: ["ok 3"] }), 20_000);

    // Calls through the Service's port (its targetPort on the pod; there is no kube-proxy here).
    const servicePort = gatewayService.spec.ports[0];
    const base = `http://${GATEWAY_POD_IP}:${containerPort(container, servicePort.targetPort)}`;
    const grpc = echoClient(CLIENT_KINDS[0], base);
    const grpcReplies = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await grpc.echo({ message: "hi" })).replica);
      return [...seen].sort();
    };
    const connectJson = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${base}/acme.echo.v1.EchoService/Echo`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "hi" }),
        });
        const body = (await res.json()) as { message?: string; replica?: string };
        seen.add(`${res.status} ${body.message} ${body.replica}`);
      }
      return [...seen].sort();
    };
    await waitFor("grpc", grpcReplies, same(podNames), 10_000);
    await waitFor("connectJson", connectJson, same(podNames.map((p) => `200 hi ${p}`)), 10_000);

    // A pod that stops being ready leaves the slice's ready set, and the gateway's.
    await putSlice([podNames[1]]);
    await waitFor("notReady", grpcReplies, same([podNames[0], podNames[2]]), 20_000);

    // SIGTERM, as the kubelet sends it after preStop: a stream in flight finishes, the process exits 0.
    const stream = (async () => {
      const ns: number[] = [];
      for await (const m of grpc.count({ count: 4, intervalMs: 250 })) ns.push(m.n);
      return ns;
    })();
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((resolve) => gatewayProcess.on("exit", (code) => resolve(code)));
    gatewayProcess.kill("SIGTERM");
    const grace = (gateway.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    await waitFor(
      "drained",
      async () => ({ stream: await stream, exit: await exited }),
      same({ stream: [1, 2, 3, 4], exit: 0 }),
      grace,
    );
  } catch (err) {
    result.error = `${(err as Error).stack ?? err}`;
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await cp.close();
  }
}

function kcFor(cp: ControlPlane, name: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig(name, token));
  return kc;
}

const dir = process.argv[2];
if (!dir) throw new Error("usage: deploy-scenario.ts DIR (a fresh folder for etcd, keys and logs)");
await main(dir);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
