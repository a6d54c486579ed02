import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** Built by test/kubernetes/build-kustomize.sh (the setup step of `npm test`). */
export const KUSTOMIZE = fileURLToPath(new URL("../../.cache/bin/kustomize", import.meta.url));
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BASE = "deploy/kubernetes/base";

/** A Kubernetes object as the manifests spell it (only what the tests read is typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  grpc?: { port: number };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
}

export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export interface Service extends KubeObject {
  spec: {
    clusterIP?: string;
    selector: Record<string, string>;
    ports: Array<{ name: string; port: number; targetPort: string | number; appProtocol?: string }>;
  };
}

/** `kustomize build` of the base, parsed: the objects `kubectl apply -k` would send. */
export function renderBase(dir = BASE): KubeObject[] {
  if (!existsSync(KUSTOMIZE))
    throw new Error(
      `${KUSTOMIZE} is missing: run test/kubernetes/build-kustomize.sh (needs Go), or npm test's setup step`,
    );
  const text = execFileSync(KUSTOMIZE, ["build", dir], { cwd: ROOT, encoding: "utf8" });
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`kustomize build printed YAML that does not parse: ${d.errors[0].message}`);
    return d.toJS() as KubeObject;
  });
}

/** The one object of `kind` named `name` (throws when there is none). */
export function find<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`the rendered base has no ${kind} ${name}`);
  return o as T;
}

/** The port a probe or targetPort names (a name is looked up in the container's ports). */
export function containerPort(container: Container, port: string | number): number {
  if (typeof port === "number") return port;
  const p = container.ports?.find((x) => x.name === port)?.containerPort;
  if (p === undefined) throw new Error(`container ${container.name} has no port named ${port}`);
  return p;
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * What the kubelet runs for `container` in a pod with these field values:
 * the image's ENTRYPOINT unless `command` replaces it, then `args` (or the
 * image's CMD), each `$(VAR)` expanded from the container's env as the kubelet
 * does (values and fieldRefs; the downward API's fields come from `fields`).
 */
export function podCommand(container: Container, image: ImageConfig, fields: Record<string, string>): string[] {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.fieldRef?.fieldPath;
    const value = ref !== undefined ? fields[ref] : e.value;
    if (value === undefined) throw new Error(`env ${e.name}: no value for field ${ref} in this test's pod`);
    env[e.name] = value;
  }
  const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
  const argv = [
    ...(container.command ?? image.entrypoint),
    ...(container.args ?? (container.command ? [] : image.cmd)),
  ];
  return argv.map(expand);
}

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  user: string;
  /** The runtime stage's FROM (the last one). */
  from: string;
  /** ARG defaults, e.g. NODE_IMAGE. */
  args: Record<string, string>;
}

/** ENTRYPOINT, CMD, USER and the last FROM of deploy/Dockerfile (exec form only). */
export function readDockerfile(path = `${ROOT}deploy/Dockerfile`): ImageConfig {
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => !l.startsWith("#"));
  const last = (instruction: string) =>
    lines
      .filter((l) => l.startsWith(`${instruction} `))
      .at(-1)
      ?.slice(instruction.length + 1)
      .trim();
  const exec = (instruction: string) => JSON.parse(last(instruction) ?? "[]") as string[];
  const args: Record<string, string> = {};
  for (const l of lines.filter((x) => x.startsWith("ARG "))) {
    const [name, value] = l.slice(4).trim().split("=");
    if (value !== undefined) args[name] = value;
  }
  return { entrypoint: exec("ENTRYPOINT"), cmd: exec("CMD"), user: last("USER") ?? "", from: last("FROM") ?? "", args };
}
