import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

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
