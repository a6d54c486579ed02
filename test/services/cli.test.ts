import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

function run(args: string[]) {
  return spawn(tsx, ["services/cli.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
}

describe("replica CLI", () => {
  it("announces its address, serves, and exits 0 on SIGTERM", async () => {
    const child = run(["--port", "0", "--name", "cli1", "--latency", "10ms"]);
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
      expect(line).toMatch(
        /^replica cli1 listening on 127\.0\.0\.1:\d+ \(gRPC, gRPC-Web, Connect; h2c \+ HTTP\/1\.1\)$/,
      );
      const address = /127\.0\.0\.1:\d+/.exec(line)![0];
      expect(await (await fetch(`http://${address}/stats`)).json()).toMatchObject({ name: "cli1" });

      const exited = once(child, "exit");
      child.kill("SIGTERM");
      expect(await exited).toEqual([0, null]);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("hosts the services it is told to, with health and server reflection, and names the ones there are", async () => {
    const child = run(["--port", "0", "--name", "cli2", "--service", "echo"]);
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const address = /127\.0\.0\.1:\d+/.exec((await lines.next()).value as string)![0];
      expect((await lines.next()).value).toBe(
        "replica cli2 serves acme.echo.v1.EchoService, with health and server reflection",
      );
      // Asked the way grpcurl asks, over gRPC.
      const reflection = createClient(ServerReflection, createGrpcTransport({ baseUrl: `http://${address}` }));
      const names: string[] = [];
      for await (const res of reflection.serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        })(),
      )) {
        if (res.messageResponse.case === "listServicesResponse")
          names.push(...res.messageResponse.value.service.map((x) => x.name));
      }
      expect(names.sort()).toEqual([
        "acme.echo.v1.EchoService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    }
    const bad = run(["--service", "nope"]);
    let stderr = "";
    bad.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await once(bad, "exit"))[0]).toBe(2);
    expect(stderr).toMatch(/^replica: --service: no service "nope" under services\/ \(there: .*echo.*\)$/m);
  });

  it("exits 2 with the problem and the usage on a bad flag", async () => {
    const child = run(["--error-rate", "2"]);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(stderr).toContain("--error-rate");
    expect(stderr).toContain("usage: npm run replica");
  });
});
