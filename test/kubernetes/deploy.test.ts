import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFile } from "../../gateway/config/load.js";
import { KUBE_APISERVER } from "./control-plane.js";
import type { DeployResult } from "./deploy-scenario.js";
import {
  BASE,
  containerPort,
  find,
  KUSTOMIZE,
  readDockerfile,
  renderBase,
  ROOT,
  selects,
  type Deployment,
  type KubeObject,
  type Service,
} from "./manifests.js";
import { unshareCommand } from "./network-namespace.js";
import { GATEWAY_RULES } from "./rbac.js";

// deploy/: the kustomize base rendered by a real kustomize (built into
// .cache/bin by the setup step of npm test), checked for what holds the pieces
// together (an API server accepts a selector that selects nothing, or a grace
// period shorter than the drain), then sent to a real kube-apiserver
// (test/kubernetes/deploy-scenario.ts): dry-run, created, its RBAC asked, and
// the gateway run as its Deployment says, called through.

describe("deploy/kubernetes/base, rendered", () => {
  it("is one gateway, its config, identity and scaling, and the demo replicas, in one namespace", async () => {
    expect(existsSync(KUSTOMIZE), `${KUSTOMIZE} is missing: run test/kubernetes/build-kustomize.sh`).toBe(true);
    const objects = renderBase();
    expect(objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, "-<hash>")}`).sort()).toEqual([
      "ConfigMap/switchyard-config-<hash>",
      "Deployment/echo",
      "Deployment/switchyard",
      "HorizontalPodAutoscaler/switchyard",
      "Namespace/switchyard",
      "PodDisruptionBudget/switchyard",
      "Role/switchyard-discovery",
      "RoleBinding/switchyard-discovery",
      "Service/echo",
      "Service/switchyard",
      "ServiceAccount/switchyard",
    ]);
    const namespaced = objects.filter((o) => o.kind !== "Namespace");
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set(["switchyard"]));

    // The config the ConfigMap carries follows the headless Service's slices, in the namespace it is applied to.
    const config = await loadConfigFile(join(ROOT, BASE, "switchyard.yaml"));
    const discovery = config.clusters.get("echo")?.discovery;
    expect(discovery).toMatchObject({
      kind: "kubernetes",
      namespace: "switchyard",
      service: "echo",
      port: "grpc",
    });
    const echoService = find<Service>(objects, "Service", "echo");
    expect(echoService.spec.clusterIP).toBe("None");
    expect(echoService.spec.ports.map((p) => p.name)).toContain("grpc");
  });

  it("the gateway's pod: probes on the admin port it binds for the kubelet, a grace period longer than preStop plus the drain", async () => {
    const objects = renderBase();
    const config = await loadConfigFile(join(ROOT, BASE, "switchyard.yaml"));
    const gateway = find<Deployment>(objects, "Deployment", "switchyard");
    const pod = gateway.spec.template.spec;
    const c = pod.containers[0];
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet?.path).toBe("/ready");
    for (const probe of [c.livenessProbe, c.readinessProbe])
      expect(containerPort(c, probe?.httpGet?.port ?? "")).toBe(config.admin?.port);
    // The kubelet probes the pod's IP, never its loopback.
    expect(config.admin?.host).toBe("0.0.0.0");
    const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStop).toBeGreaterThan(0);
    expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(preStop * 1000 + config.drainTimeoutMs);
    expect(c.resources?.requests?.cpu, "the HPA's utilization is of the CPU request").toBeDefined();
    expect(gateway.spec.replicas, "the HPA owns the count").toBeUndefined();
    expect(pod.serviceAccountName).toBe("switchyard");
  });

  it("Service, HPA and PDB point at the gateway's pods; the Role allows get/list/watch on EndpointSlices only", async () => {
    const objects = renderBase();
    const config = await loadConfigFile(join(ROOT, BASE, "switchyard.yaml"));
    const gateway = find<Deployment>(objects, "Deployment", "switchyard");
    const labels = gateway.spec.template.metadata.labels;
    const service = find<Service>(objects, "Service", "switchyard");
    expect(selects(service.spec.selector, labels)).toBe(true);
    const grpc = service.spec.ports.find((p) => p.name === "grpc");
    expect(grpc?.appProtocol).toBe("kubernetes.io/h2c");
    expect(containerPort(gateway.spec.template.spec.containers[0], grpc?.targetPort ?? "")).toBe(
      config.listeners[0].port,
    );
    const pdb = find(objects, "PodDisruptionBudget", "switchyard") as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
    const hpa = find(objects, "HorizontalPodAutoscaler", "switchyard") as KubeObject & {
      spec: { scaleTargetRef: { kind: string; name: string }; metrics: Array<{ resource?: { name: string } }> };
    };
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "switchyard" });
    expect(hpa.spec.metrics.map((m) => m.resource?.name)).toEqual(["cpu"]);
    const echo = find<Deployment>(objects, "Deployment", "echo");
    expect(selects(find<Service>(objects, "Service", "echo").spec.selector, echo.spec.template.metadata.labels)).toBe(
      true,
    );
    // The same rules the discovery tests grant (README, "Follow a fleet that changes").
    expect((find(objects, "Role", "switchyard-discovery") as KubeObject & { rules: unknown }).rules).toEqual(
      GATEWAY_RULES,
    );
    const binding = find(objects, "RoleBinding", "switchyard-discovery") as KubeObject & { subjects: unknown };
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "switchyard", namespace: "switchyard" }]);
  });

  it("the image runs as the non-root user the pods ask for, on Node 24, with entry points dist/ has", () => {
    const image = readDockerfile();
    expect(image.args.NODE_IMAGE).toMatch(/^node:24-/);
    expect(image.from).toBe("${NODE_IMAGE}");
    const objects = renderBase();
    for (const name of ["switchyard", "echo"]) {
      const pod = find<Deployment>(objects, "Deployment", name).spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(image.user).toBe(`${pod.securityContext?.runAsUser}:${pod.securityContext?.runAsUser}`);
      const argv = pod.containers[0].command ?? image.entrypoint;
      expect(argv[0]).toBe("node");
      expect(existsSync(join(ROOT, argv[1])), `${argv[1]} (npm run build makes dist/)`).toBe(true);
    }
  });
});

function runScenario(dir: string): Promise<{ result: DeployResult | undefined; code: number | null; stderr: string }> {
  const argv = [process.execPath, "--import", "tsx", "test/kubernetes/deploy-scenario.ts", dir];
  const [command, ...args] = unshareCommand(argv, { mount: true });
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    if (process.env.SWITCHYARD_K8S_VERBOSE) process.stderr.write(c);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 280_000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({ result: line ? (JSON.parse(line.slice("RESULT ".length)) as DeployResult) : undefined, code, stderr });
    });
  });
}

describe("deploy/kubernetes/base in a real kube-apiserver", () => {
  it(
    "every object passes a server-side dry run; the ServiceAccount reads EndpointSlices and nothing else; the gateway runs as deployed and answers gRPC and Connect",
    { timeout: 300_000 },
    async () => {
      expect(existsSync(KUBE_APISERVER), `${KUBE_APISERVER} is missing: run test/kubernetes/build-apiserver.sh`).toBe(
        true,
      );
      const dir = mkdtempSync(join(tmpdir(), "switchyard-deploy-"));
      try {
        const { result, code, stderr } = await runScenario(dir);
        const context = `scenario exited ${code}; its log:\n${stderr.slice(-8000)}`;
        expect(result, context).toBeDefined();
        const r = result as DeployResult;
        expect(r.error, context).toBeUndefined();

        // Accepted as written (fieldValidation=Strict: an unknown field would be an error), with no warning.
        const objects = Object.keys(r.dryRun);
        expect(objects.length).toBe(11);
        for (const o of objects) {
          expect(r.dryRun[o], o).toEqual({ status: 201, warnings: [] });
          expect(r.created[o], o).toBe(201);
        }
        expect(r.configCheck).toEqual({ code: 0, output: "config is valid" });

        // Allowed exactly get/list/watch on endpointslices in its own namespace.
        const allowed = Object.entries(r.access)
          .filter(([, ok]) => ok)
          .map(([what]) => what);
        expect(allowed.sort()).toEqual([
          "get endpointslices switchyard",
          "list endpointslices switchyard",
          "watch endpointslices switchyard",
        ]);
        expect(Object.keys(r.access).length).toBeGreaterThan(70);
        expect(r.tokenRequests).toEqual({
          "GET /apis/discovery.k8s.io/v1/namespaces/switchyard/endpointslices": 200,
          "GET /api/v1/namespaces/switchyard/pods": 403,
          "GET /api/v1/namespaces/switchyard/configmaps": 403,
          "GET /apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices": 403,
        });

        const saw = (step: string) => r.steps[step]?.saw;
        expect(saw("liveness")).toBe(200);
        expect(saw("readiness")).toEqual({ status: 200, discovery: ["ok 3"] });
        expect(saw("grpc")).toEqual(["echo-0", "echo-1", "echo-2"]);
        expect(saw("connectJson")).toEqual(["200 hi echo-0", "200 hi echo-1", "200 hi echo-2"]);
        expect(saw("notReady")).toEqual(["echo-0", "echo-2"]);
        expect(saw("drained")).toEqual({ stream: [1, 2, 3, 4], exit: 0 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
