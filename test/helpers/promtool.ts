import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** `which promtool`, without a shell; throws how to get it when it is missing. */
export function findPromtool(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, "promtool"), constants.X_OK);
      return join(dir, "promtool");
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    "promtool is missing: install it with `apt-get install -y prometheus` (`npm test` does this first when run as root: test/setup/ensure.mjs)",
  );
}

/** `promtool check metrics` over an exposition: its exit status and everything it said (nothing when it passes). */
export function checkMetrics(text: string): { status: number | null; output: string } {
  const check = spawnSync(findPromtool(), ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  return { status: check.status, output: `${check.stdout}${check.stderr}` };
}
