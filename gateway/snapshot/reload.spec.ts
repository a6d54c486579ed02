import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { GatewayConfig, ListenerConfig } from "../config/types.js";
import { ConfigError } from "../config/config-error.js";
import {
  configFiles,
  describeChanges,
  listenerKeys,
  formatReload,
  planListeners,
  problemsOf,
  stableText,
  watchConfig,
} from "./reload.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import { defaultLimits, defaultOverload } from "../config/limits.js";

function config(change: (c: GatewayConfig) => void = () => {}): GatewayConfig {
  const c: GatewayConfig = {
    listeners: [{ port: 8080, host: "0.0.0.0" }],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 100,
    descriptorSets: [new Uint8Array([1, 2, 3])],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map([
      ["a", clusterConfig([endpointAt(1)], { name: "a" })],
      ["b", clusterConfig([endpointAt(2)], { name: "b" })],
    ]),
    routes: [{ match: { prefix: "/" }, cluster: "a" }],
  };
  change(c);
  return c;
}

const tls = (cert: string, more: Partial<ListenerConfig["tls"]> = {}) => ({
  cert,
  key: "KEY",
  requireClientCert: false,
  ...more,
});

describe("stableText", () => {
  it("is the same for configs built apart, whatever the key and Map order, and undefined keys", () => {
    const a = config();
    const b = config((c) => {
      c.clusters = new Map([...c.clusters].reverse());
      c.listeners = [{ host: "0.0.0.0", port: 8080, tls: undefined }];
    });
    expect(stableText(a)).toBe(stableText(b));
  });

  it("sees a byte of a descriptor set, and a PEM's contents", () => {
    expect(stableText(config())).not.toBe(stableText(config((c) => (c.descriptorSets = [new Uint8Array([1, 2, 4])]))));
    const withTls = (cert: string) => config((c) => (c.listeners[0].tls = tls(cert)));
    expect(stableText(withTls("A"))).not.toBe(stableText(withTls("B")));
  });
});

describe("describeChanges", () => {
  it("is empty for the same config", () => {
    expect(describeChanges(config(), config())).toEqual([]);
  });

  it("names each section that differs", () => {
    const next = config((c) => {
      c.routes = [{ match: { prefix: "/" }, cluster: "b" }];
      c.clusters.get("b")!.endpoints[0].weight = 3;
      c.clusters.delete("a");
      c.clusters.set("c", clusterConfig([endpointAt(3)], { name: "c" }));
      c.drainTimeoutMs = 5000;
      c.workers = "auto";
      c.listeners.push({ port: 8443, host: "0.0.0.0" });
    });
    expect(describeChanges(config(), next)).toEqual([
      "listeners[1] 0.0.0.0:8443 (added)",
      "drainTimeout",
      "workers",
      "clusters.a (removed)",
      "clusters.b",
      "clusters.c (added)",
      "routes",
    ]);
  });
});

describe("listenerKeys", () => {
  it("names listeners by address and TLS, numbering only repeats (port 0)", () => {
    const tlsOn = { cert: "C", key: "K", requireClientCert: false };
    expect(
      listenerKeys([
        { port: 8080, host: "0.0.0.0" },
        { port: 0, host: "127.0.0.1" },
        { port: 0, host: "127.0.0.1" },
        { port: 8443, host: "::", tls: tlsOn },
      ]),
    ).toEqual(["0.0.0.0:8080", "127.0.0.1:0", "127.0.0.1:0 #2", "[::]:8443 tls"]);
  });
});

describe("planListeners", () => {
  const at = (port: number, extra: Partial<ListenerConfig> = {}): ListenerConfig => ({
    port,
    host: "127.0.0.1",
    ...extra,
  });

  it("keeps a listener whose address stays, adds and removes the others; a port change is both", () => {
    const plan = planListeners([at(1), at(2)], [at(2), at(3)]);
    expect(plan.kept).toEqual([{ config: at(2), index: 0, was: 1, tlsChanged: false }]);
    expect(plan.added).toEqual([{ config: at(3), index: 1 }]);
    expect(plan.removed).toEqual([{ config: at(1), was: 0 }]);
  });

  it("rebuilds a listener whose reusePort changes: its socket is bound with it", () => {
    const plan = planListeners([at(1)], [at(1, { reusePort: true })]);
    expect(plan.kept).toEqual([]);
    expect(plan.added).toHaveLength(1);
    expect(plan.removed).toHaveLength(1);
  });

  it("swaps certificates in place, but rebuilds a listener whose TLS mode changes", () => {
    const rotated = planListeners([at(1, { tls: tls("A") })], [at(1, { tls: tls("B") })]);
    expect(rotated.kept).toMatchObject([{ tlsChanged: true }]);
    expect(rotated.added).toEqual([]);
    for (const next of [
      at(1),
      at(1, { tls: tls("A", { requireClientCert: true }) }),
      at(1, { tls: tls("A", { clientCa: "CA" }) }),
    ]) {
      const plan = planListeners([at(1, { tls: tls("A") })], [next]);
      expect(plan.kept).toEqual([]);
      expect(plan.added).toHaveLength(1);
      expect(plan.removed).toHaveLength(1);
    }
  });
});

describe("formatReload and problemsOf", () => {
  it("lists every problem of a rejected reload, one a line, as at start", () => {
    const problems = problemsOf(
      new ConfigError(['routes[0].cluster: no cluster named "x"', "clusters.a.timeout: bad"]),
    );
    const text = formatReload({ status: "rejected", changed: [], problems, notes: [] }, "SIGHUP");
    expect(text).toBe(
      'reload (SIGHUP) rejected, the old config keeps serving (2 problems):\n  - routes[0].cluster: no cluster named "x"\n  - clusters.a.timeout: bad',
    );
    expect(problemsOf(new Error("boom"))).toEqual(["boom"]);
    expect(formatReload({ status: "unchanged", changed: [], problems: [], notes: [] }, "x")).toContain("unchanged");
  });
});

describe("watchConfig", () => {
  it("follows the config file and the files it names, replaced by rename, and one burst of changes is one reload", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-watch-"));
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, `${name}.tmp`), text);
      renameSync(join(dir, `${name}.tmp`), join(dir, name));
    };
    write("gateway.yaml", "listeners: [{ port: 1, tls: { cert: tls/a.pem, key: tls/a.key } }]\n");
    const path = join(dir, "gateway.yaml");
    expect(await configFiles(path)).toEqual([path, join(dir, "tls/a.pem"), join(dir, "tls/a.key")]);
    let reloads = 0;
    const watcher = watchConfig(path, async () => void reloads++, 20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      write("gateway.yaml", "listeners: [{ port: 1, tls: { cert: b.pem, key: b.key } }]\n");
      await expect.poll(() => reloads, { timeout: 5000 }).toBe(1);
      // Now b.pem and b.key are watched (they need not exist yet).
      write("b.pem", "cert");
      write("b.key", "key");
      await expect.poll(() => reloads, { timeout: 5000 }).toBe(2);
      await new Promise((r) => setTimeout(r, 400));
      expect(reloads).toBe(2);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
