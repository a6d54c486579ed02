// How test/setup/requirements.mjs tells whether a tool is there.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `which name`, without a shell: the first executable `name` on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Runs `bash script args...` from the repository root; when it exits 0 the tool
 * counts as present and `shown` (where it lives) is returned.
 */
export function scriptSays(script, args, shown) {
  const result = spawnSync("bash", [script, ...args], { cwd: ROOT, stdio: "ignore" });
  return result.status === 0 ? shown : undefined;
}
