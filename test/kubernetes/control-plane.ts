import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeApiserverPki, type ApiserverPki } from "./pki.js";

/** Built by test/kubernetes/build-apiserver.sh (the setup step of `npm test`). */
export const KUBE_APISERVER = fileURLToPath(new URL("../../.cache/bin/kube-apiserver", import.meta.url));

/** The static tokens: one in system:masters for the test itself, one with only what RBAC grants it, for the gateway. */
export const ADMIN_TOKEN = "switchyard-test-admin";
export const GATEWAY_TOKEN = "switchyard-test-gateway";
export const GATEWAY_USER = "switchyard-gateway";

const PORT = 6443;

/**
 * etcd (Debian's etcd-server, `etcd` on PATH) and a real kube-apiserver on
 * `ip`, with files in `dir`. The API server can be stopped and started again
 * over the same etcd, as a restart or an outage looks to its clients.
 */
export class ControlPlane {
  readonly server: string;
  private readonly pki: ApiserverPki;
  private etcd: ChildProcess | undefined;
  private apiserver: ChildProcess | undefined;
  private starts = 0;

  constructor(
    private readonly dir: string,
    private readonly ip: string,
  ) {
    if (!existsSync(KUBE_APISERVER)) {
      throw new Error(
        `${KUBE_APISERVER} is missing: the setup step of npm test builds it (or run test/kubernetes/build-apiserver.sh; needs Go)`,
      );
    }
    this.server = `https://${ip}:${PORT}`;
    this.pki = makeApiserverPki(dir, ip);
    writeFileSync(
      join(dir, "tokens.csv"),
      `${ADMIN_TOKEN},switchyard-test-admin,1,"system:masters"\n${GATEWAY_TOKEN},${GATEWAY_USER},2\n`,
    );
  }

  /** The API server's certificate, which is also the CA its clients trust (a pod's ca.crt). */
  get caFile(): string {
    return this.pki.cert;
  }

  /** A kubeconfig for `token`, written into the folder; its path. */
  kubeconfig(name: string, token: string): string {
    const ca = readFileSync(this.pki.cert).toString("base64");
    const path = join(this.dir, `${name}.kubeconfig`);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "test", cluster: { server: this.server, "certificate-authority-data": ca } }],
        users: [{ name, user: { token } }],
        contexts: [{ name: "test", context: { cluster: "test", user: name } }],
        "current-context": "test",
      }),
    );
    return path;
  }

  async start(): Promise<void> {
    this.etcd = this.spawn("etcd", "etcd", [
      "--data-dir",
      join(this.dir, "etcd"),
      "--listen-client-urls",
      "http://127.0.0.1:2379",
      "--advertise-client-urls",
      "http://127.0.0.1:2379",
      "--listen-peer-urls",
      "http://127.0.0.1:2380",
    ]);
    await this.startApiserver();
  }

  /** Starts the API server and waits for /readyz (about 20 s on 2 cores). */
  async startApiserver(): Promise<void> {
    this.starts++;
    this.apiserver = this.spawn(`kube-apiserver-${this.starts}`, KUBE_APISERVER, [
      "--etcd-servers=http://127.0.0.1:2379",
      `--bind-address=${this.ip}`,
      `--advertise-address=${this.ip}`,
      `--secure-port=${PORT}`,
      `--tls-cert-file=${this.pki.cert}`,
      `--tls-private-key-file=${this.pki.key}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${this.pki.saPub}`,
      `--service-account-signing-key-file=${this.pki.saKey}`,
      `--token-auth-file=${join(this.dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/24",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
    ]);
    await this.waitReady(180_000);
  }

  /**
   * Kills the API server, as a crash or a lost node does, and waits until it
   * has exited. (SIGTERM's graceful shutdown holds watches open for 15 s and
   * more, which only makes the test slower.)
   */
  async stopApiserver(): Promise<void> {
    await stop(this.apiserver, "SIGKILL");
    this.apiserver = undefined;
  }

  /**
   * Moves etcd's revision on by `n` writes outside the API server's keys, as
   * the rest of a cluster does while one API server is away: a restarted
   * server's watch cache then starts past a client's old resourceVersion,
   * and a watch resumed from it is answered 410 Gone.
   */
  async advanceEtcd(n: number): Promise<void> {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    for (let i = 0; i < n; i++) {
      const res = await fetch("http://127.0.0.1:2379/v3/kv/put", {
        method: "POST",
        body: JSON.stringify({ key: b64(`/switchyard-test/${i}`), value: b64(`${Date.now()}`) }),
      });
      if (!res.ok) throw new Error(`etcd put: ${res.status} ${await res.text()}`);
    }
  }

  async close(): Promise<void> {
    await stop(this.apiserver, "SIGKILL");
    await stop(this.etcd);
  }

  /** The tail of a process's log, for a failure message. */
  logTail(name: string, lines = 30): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), "utf8")
        .trimEnd()
        .split("\n")
        .slice(-lines)
        .join("\n");
    } catch {
      return "";
    }
  }

  private spawn(name: string, command: string, args: string[]): ChildProcess {
    const log = openSync(join(this.dir, `${name}.log`), "a");
    // --pdeathsig: if this process dies, so do they (they live in its namespace).
    const child = spawn("setpriv", ["--pdeathsig", "KILL", "--", command, ...args], { stdio: ["ignore", log, log] });
    child.on("exit", (code, signal) => writeFileSync(join(this.dir, `${name}.exit`), `${code ?? signal}`));
    return child;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const name = `kube-apiserver-${this.starts}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (existsSync(join(this.dir, `${name}.exit`))) throw new Error(`kube-apiserver exited:\n${this.logTail(name)}`);
      if ((await this.readyz()) === "ok") return;
      if (Date.now() > deadline)
        throw new Error(`kube-apiserver not ready after ${timeoutMs / 1000} s:\n${this.logTail(name)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private readyz(): Promise<string> {
    return new Promise((resolve) => {
      const req = request(
        `${this.server}/readyz`,
        { ca: readFileSync(this.pki.cert), headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, timeout: 5000 },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body.trim()));
          res.on("error", () => resolve(""));
        },
      );
      req.on("error", () => resolve(""));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
