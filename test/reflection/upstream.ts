import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The grpc-go server of test/reflection/upstream, built by test/reflection/build.sh
// (test/setup/ensure.mjs runs it before npm test), and grpcurl beside it.

export const UPSTREAM_BIN = fileURLToPath(new URL("../../.cache/bin/reflection-upstream", import.meta.url));
export const GRPCURL_BIN = fileURLToPath(new URL("../../.cache/bin/grpcurl", import.meta.url));

export function requireTools(): void {
  for (const bin of [UPSTREAM_BIN, GRPCURL_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run test/reflection/build.sh (needs Go)`);
  }
}

export interface UpstreamOptions {
  /** host:port; default an ephemeral loopback port. */
  addr?: string;
  name?: string;
  /** Serve version 2 of inventory.v1 (adds StockService/Release). */
  v2?: boolean;
  reflection?: "both" | "v1" | "v1alpha" | "off";
  /** Answer UNAVAILABLE to the first N calls of each method. */
  failFirst?: number;
}

export interface Upstream {
  address: string;
  port: number;
  output(): string;
  /** SIGTERM (grpc-go stops gracefully), and waits for the exit. */
  stop(): Promise<void>;
}

export async function startUpstream(opts: UpstreamOptions = {}): Promise<Upstream> {
  const args = ["-addr", opts.addr ?? "127.0.0.1:0", "-name", opts.name ?? "u1"];
  if (opts.v2) args.push("-v2");
  if (opts.reflection) args.push("-reflection", opts.reflection);
  if (opts.failFirst) args.push("-fail-first", String(opts.failFirst));
  const child: ChildProcess = spawn(UPSTREAM_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`reflection-upstream did not start within 10 s:\n${out}`)), 10_000);
    const onData = () => {
      const m = /listening on (\S+)/.exec(out);
      if (m) done(() => resolve(m[1]));
    };
    const onExit = () => fail(new Error(`reflection-upstream exited before listening:\n${out}`));
    const done = (then: () => void) => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      then();
    };
    const fail = (err: Error) =>
      done(() => {
        child.kill("SIGKILL");
        reject(err);
      });
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return {
    address,
    port: Number(address.slice(address.lastIndexOf(":") + 1)),
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface GrpcurlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `grpcurl -plaintext ...flags target ...command` (e.g. ["list"], ["describe", "x.Y"]), bounded in time. */
export function grpcurl(
  target: string,
  command: string[],
  flags: string[] = [],
  timeoutMs = 10_000,
): Promise<GrpcurlResult> {
  return new Promise((resolve) => {
    const args = ["-plaintext", "-max-time", String(timeoutMs / 1000), ...flags, target, ...command];
    const child = spawn(GRPCURL_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 2000);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
