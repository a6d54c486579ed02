import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { REPO_ROOT } from "../helpers/cli-process.js";
import { generateTestPki, type TestPki } from "../helpers/tls-certs.js";

// h2spec (github.com/summerwind/h2spec, 145 cases of RFC 7540/7541) against
// the gateway's cleartext (h2c with prior knowledge) and TLS listeners, and
// against a bare node:http2 server in the same run: whatever Node itself
// fails is Node's (nghttp2's) baseline, and the gateway may fail nothing
// beyond it but what EXPLAINED lists, with the reason. Built by
// test/h2spec/build.sh (test/setup/requirements.mjs).
//
// Node's baseline (v20, nghttp2 1.61) fails these, by design of nghttp2 or
// Node rather than anything a server on it does: frames on a closed stream
// are ignored instead of answered with STREAM_CLOSED (5.1 #8, #9, #11, #12),
// a stream id lower than a previous one is not a connection error (5.1.1
// #2), a PING with ACK set is not answered (6.7 #2: h2spec wants a PING
// back, Node closes), and a window overflow gets GOAWAY or RST_STREAM with
// another code than FLOW_CONTROL_ERROR (6.9.1 #2, #3). A few more come and
// go with timing (5.1 #5, #6, 6.1 #2, 8.1 #1, 8.1.2.1 #3: the server's
// answer racing h2spec's next frame), which is why a case the gateway fails
// alone is run again before it counts.

const H2SPEC = join(REPO_ROOT, ".cache/bin/h2spec");
/** The RPC path: h2spec's requests go to the proxy's bare-stream path (405/415 answers), the code this project wrote. */
const RPC_PATH = "/acme.echo.v1.EchoService/Echo";
/** A case's failure counts only if it fails this many runs in a row: a few cases race the server's answer against h2spec's next frame. */
const RUNS_TO_CONFIRM = 3;

/** Failures beyond Node's baseline that are the gateway's design, by h2spec case id. */
const EXPLAINED: Record<"cleartext" | "tls", Record<string, string>> = {
  cleartext: {
    // The cleartext port speaks HTTP/1.1 too, told apart by the preface: any
    // other first bytes are an HTTP/1.1 request, and a malformed one is
    // answered 400 and closed (RFC 9112), not with an HTTP/2 GOAWAY.
    "http2/3.5/2": "HTTP/1.1 on the same port: a bad preface is a bad HTTP/1.1 request (400, then closed)",
  },
  tls: {},
};

let pki: TestPki;
let dir: string;
beforeAll(() => {
  if (!existsSync(H2SPEC)) throw new Error(`${H2SPEC} is missing: run test/h2spec/build.sh (needs Go)`);
  pki = generateTestPki();
  dir = mkdtempSync(join(tmpdir(), "h2spec-"));
});
afterAll(() => {
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs h2spec (all of it, or `only` cases) against 127.0.0.1:port; the failed case ids with their titles. */
async function h2spec(port: number, tls: boolean, path: string, only: string[] = []): Promise<Map<string, string>> {
  const report = join(dir, `report-${port}-${Date.now()}.xml`);
  const args = [...only, "-h", "127.0.0.1", "-p", String(port), "-P", path, "-o", "2", "-j", report];
  if (tls) args.push("-t", "-k");
  await new Promise<void>((resolve) => {
    // h2spec exits 1 when a case fails; the report says which.
    execFile(H2SPEC, args, { timeout: 150_000, maxBuffer: 16 << 20 }, () => resolve());
  });
  return failures(readFileSync(report, "utf8"));
}

/** Failed cases from h2spec's JUnit report, as "section/number" (what h2spec takes to run one case). */
function failures(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const suite of xml.matchAll(/<testsuite [^>]*package="([^"]+)"[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    const cases = [...suite[2]!.matchAll(/<testcase [^>]*classname="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)];
    cases.forEach((c, i) => {
      if (/<(error|failure)\b/.test(c[2] ?? "")) out.set(`${suite[1]}/${i + 1}`, c[1]!);
    });
  }
  return out;
}

/** Cases the gateway fails that the baseline passes, confirmed by running each again alone. */
async function beyondBaseline(
  port: number,
  tls: boolean,
  gateway: Map<string, string>,
  baseline: Map<string, string>,
): Promise<string[]> {
  const beyond: string[] = [];
  for (const id of gateway.keys()) {
    if (baseline.has(id)) continue;
    let failedEveryRun = true;
    for (let run = 1; run < RUNS_TO_CONFIRM && failedEveryRun; run++) {
      failedEveryRun = (await h2spec(port, tls, RPC_PATH, [id])).size > 0;
    }
    if (failedEveryRun) beyond.push(`${id} ${gateway.get(id)}`);
  }
  return beyond;
}

async function bareNode(tls: boolean): Promise<{ port: number; close(): Promise<void> }> {
  const onStream = (stream: http2.ServerHttp2Stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "text/plain" });
    stream.end("ok");
  };
  const server = tls ? http2.createSecureServer({ cert: pki.server.cert, key: pki.server.key }) : http2.createServer();
  server.on("stream", onStream);
  server.on("sessionError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on("error", () => {});
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("h2spec: the gateway fails nothing beyond Node's own baseline", { timeout: 600_000 }, () => {
  for (const mode of ["cleartext", "tls"] as const) {
    it(`${mode === "tls" ? "TLS (h2 by ALPN)" : "cleartext (h2c, prior knowledge)"} listener`, async () => {
      const tls = mode === "tls";
      const bare = await bareNode(tls);
      let f: Fixture | undefined;
      try {
        const baseline = await h2spec(bare.port, tls, RPC_PATH);
        f = await startFixture(tls ? { listenerTls: { ...pki.server, requireClientCert: false } } : {});
        const gateway = await h2spec(f.port, tls, RPC_PATH);
        console.log(
          `h2spec ${mode}: node baseline fails ${[...baseline.keys()].join(", ") || "nothing"}; gateway fails ${[...gateway.keys()].join(", ") || "nothing"}`,
        );
        // A baseline that fails nothing, or everything, means h2spec did not run as meant.
        expect(baseline.size).toBeGreaterThan(0);
        expect(baseline.size).toBeLessThan(30);
        const beyond = await beyondBaseline(f.port, tls, gateway, baseline);
        const unexplained = beyond.filter((b) => !(b.split(" ")[0]! in EXPLAINED[mode]));
        expect(unexplained).toEqual([]);
      } finally {
        await f?.close();
        await bare.close();
      }
    });
  }
});
