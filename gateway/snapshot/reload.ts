import { readFile } from "node:fs/promises";
import { type Stats, unwatchFile, watchFile } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { collectFileRefs } from "../config/files.js";
import type { GatewayConfig, ListenerConfig } from "../config/types.js";
import { parseYamlText } from "../config/yaml-text.js";

// Hot reload of the gateway's own config: what the three triggers (SIGHUP,
// --watch, POST /reload on the admin port) share apart from applying it,
// which is Gateway.reload() in server.ts. This file compares configs, says
// what changed, and watches the config's files.

/** What one reload did. */
export interface ReloadResult {
  /** reloaded: a new snapshot (and listeners) is in use; unchanged: nothing differed, nothing was touched; rejected: the old config keeps serving. */
  status: "reloaded" | "unchanged" | "rejected";
  /** What differed, one entry per section, e.g. `routes`, `clusters.echo`, `listeners[1] 127.0.0.1:8443 (added)`. */
  changed: string[];
  /** Why it was rejected: every problem, with its path, as at start. */
  problems: string[];
  /** Changes that were accepted but need a restart to take effect. */
  notes: string[];
}

/** How many reloads ended each way, since start. */
export type ReloadCounts = Record<ReloadResult["status"], number>;

export const rejected = (problems: string[]): ReloadResult => ({
  status: "rejected",
  changed: [],
  problems,
  notes: [],
});

/** A loader's failure as the problems to report: a ConfigError's list, or the one message. */
export function problemsOf(err: unknown): string[] {
  if (err instanceof ConfigError) return err.problems;
  return [err instanceof Error ? err.message : String(err)];
}

/**
 * A stable text of any config value: object keys sorted, Maps as sorted
 * objects, bytes (descriptor sets) as base64, undefined left out. Two configs
 * with the same text configure the gateway the same way.
 */
export function stableText(value: unknown): string {
  return JSON.stringify(plain(value));
}

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Map) return plain(Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), v])));
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : plain(v)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = plain(v);
    }
    return out;
  }
  return value;
}

export const listenerAddress = (l: ListenerConfig): string =>
  `${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;

/**
 * A name for each listener that two processes reading the same config agree
 * on (with workers, the primary accepts and a worker serves): its address,
 * whether it is TLS, and which of several such listeners it is (only port 0
 * repeats an address).
 */
export function listenerKeys(listeners: readonly ListenerConfig[]): string[] {
  const seen = new Map<string, number>();
  return listeners.map((l) => {
    const base = `${listenerAddress(l)}${l.tls ? " tls" : ""}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base} #${n + 1}`;
  });
}

/** What differs between two configs, section by section; empty when they configure the gateway the same way. */
export function describeChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const changed: string[] = [];
  const differ = (a: unknown, b: unknown) => stableText(a) !== stableText(b);
  const plan = planListeners(before.listeners, after.listeners);
  for (const r of plan.removed) changed.push(`listeners: ${listenerAddress(r.config)} (removed)`);
  for (const a of plan.added) changed.push(`listeners[${a.index}] ${listenerAddress(a.config)} (added)`);
  for (const k of plan.kept) {
    if (k.tlsChanged) changed.push(`listeners[${k.index}] ${listenerAddress(k.config)} tls (certificates)`);
    else if (k.index !== k.was)
      changed.push(`listeners[${k.index}] ${listenerAddress(k.config)} (was listeners[${k.was}])`);
  }
  if (differ(before.admin, after.admin)) changed.push("admin");
  if (differ(before.limits, after.limits)) changed.push("limits");
  if (before.drainTimeoutMs !== after.drainTimeoutMs) changed.push("drainTimeout");
  if ((before.workers ?? 1) !== (after.workers ?? 1)) changed.push("workers");
  if (differ(before.descriptorSets, after.descriptorSets)) changed.push("descriptorSets");
  if (differ(before.cors, after.cors)) changed.push("cors");
  for (const key of ["metrics", "logging", "tracing"] as const) if (differ(before[key], after[key])) changed.push(key);
  for (const [name, c] of before.clusters) {
    const next = after.clusters.get(name);
    if (!next) changed.push(`clusters.${name} (removed)`);
    else if (differ(c, next)) changed.push(`clusters.${name}`);
  }
  for (const name of after.clusters.keys()) if (!before.clusters.has(name)) changed.push(`clusters.${name} (added)`);
  if (differ(before.routes, after.routes)) changed.push("routes");
  if (differ(before.auth, after.auth)) changed.push("auth");
  if (differ(before.rateLimits, after.rateLimits)) changed.push("rateLimits");
  // Anything not named above (a key added to GatewayConfig later) still counts.
  if (changed.length === 0 && differ(before, after)) changed.push("config");
  return changed;
}

/** A listener that stays: same address, TLS on or off alike and the same client-certificate mode. */
export interface KeptListener {
  config: ListenerConfig;
  /** Its index in the new config, and in the old one. */
  index: number;
  was: number;
  /** Only certificate, key or client-CA contents differ: the secure context is swapped in place. */
  tlsChanged: boolean;
}

export interface ListenerPlan {
  kept: KeptListener[];
  added: Array<{ config: ListenerConfig; index: number }>;
  removed: Array<{ config: ListenerConfig; was: number }>;
}

/**
 * Pairs old and new listeners by address. A listener whose address, TLS
 * on/off, client-certificate mode or reusePort changed is removed and added
 * again (the server is built, or the socket bound, with those); one whose PEM contents changed is kept
 * with `tlsChanged`.
 */
export function planListeners(before: readonly ListenerConfig[], after: readonly ListenerConfig[]): ListenerPlan {
  const free = before.map((config, was) => ({ config, was }));
  const plan: ListenerPlan = { kept: [], added: [], removed: [] };
  after.forEach((config, index) => {
    const i = free.findIndex((o) => sameServer(o.config, config));
    if (i < 0) {
      plan.added.push({ config, index });
      return;
    }
    const [old] = free.splice(i, 1);
    plan.kept.push({ config, index, was: old.was, tlsChanged: stableText(old.config.tls) !== stableText(config.tls) });
  });
  plan.removed = free;
  return plan;
}

function sameServer(a: ListenerConfig, b: ListenerConfig): boolean {
  if (a.host !== b.host || a.port !== b.port || !a.tls !== !b.tls || !a.reusePort !== !b.reusePort) return false;
  if (!a.tls || !b.tls) return true;
  return (
    a.tls.requireClientCert === b.tls.requireClientCert &&
    (a.tls.clientCa === undefined) === (b.tls.clientCa === undefined)
  );
}

/** One line for the log: what a reload did and why. */
export function formatReload(r: ReloadResult, trigger: string): string {
  if (r.status === "rejected") {
    const count = `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`;
    return `reload (${trigger}) rejected, the old config keeps serving (${count}):\n${r.problems.map((p) => `  - ${p}`).join("\n")}`;
  }
  if (r.status === "unchanged") return `reload (${trigger}): config unchanged, nothing to do`;
  const notes = r.notes.length ? `\n${r.notes.map((n) => `  ! ${n}`).join("\n")}` : "";
  return `reload (${trigger}): config reloaded; changed: ${r.changed.join(", ")}${notes}`;
}

/** The config file and every file it names (PEMs, descriptor sets), absolute; just the config when it does not parse. */
export async function configFiles(configPath: string): Promise<string[]> {
  const path = resolve(configPath);
  const files = [path];
  try {
    const parsed = parseYamlText(await readFile(path, "utf8"));
    if (parsed.ok) for (const ref of collectFileRefs(parsed.value)) files.push(resolve(dirname(path), ref.file));
  } catch {
    // unreadable: the reload reports it
  }
  return [...new Set(files)];
}

/** How often watched files are stat'ed: polling survives editors' and config managers' write-and-rename. */
const POLL_MS = 500;
/** Changes this close together are one reload (a certificate and its key written one after the other). */
const SETTLE_MS = 200;

/**
 * Watches the config file and the files it names; calls `onChange` once
 * things settle after a change. The watched set is read again before each
 * reload, so a new certificate path is followed; a change during a reload
 * brings one more once it is done.
 */
export function watchConfig(configPath: string, onChange: () => Promise<unknown>, pollMs = POLL_MS): { close(): void } {
  const watched = new Map<string, (cur: Stats, prev: Stats) => void>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const follow = async () => {
    const files = new Set(await configFiles(configPath));
    if (closed) return;
    for (const [file, listener] of watched) {
      if (files.has(file)) continue;
      unwatchFile(file, listener);
      watched.delete(file);
    }
    for (const file of files) {
      if (watched.has(file)) continue;
      const listener = (cur: Stats, prev: Stats) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) changed();
      };
      watched.set(file, listener);
      watchFile(file, { interval: pollMs, persistent: false }, listener);
    }
  };
  const run = () => {
    timer = undefined;
    if (running) {
      again = true; // one more reload after the one under way
      return;
    }
    running = (async () => {
      do {
        again = false;
        // Watch first, then reload: a file that changes while the reload reads it triggers another one.
        await follow();
        await onChange().catch(() => {});
      } while (again && !closed);
    })().finally(() => (running = undefined));
  };
  const changed = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, SETTLE_MS);
    timer.unref();
  };
  void follow();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const [file, listener] of watched) unwatchFile(file, listener);
      watched.clear();
    },
  };
}
