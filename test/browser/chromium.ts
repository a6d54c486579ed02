import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser } from "playwright-core";

// Debian's chromium, driven by playwright-core. Playwright's own browser
// download is never used: this machine (and CI) reaches Debian's archive but
// no browser CDN, and the distro build is what test/setup/ensure.mjs installs.
const ARGS = [
  "--headless",
  "--no-sandbox", // runs as root in CI, where the setuid sandbox is refused
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Only loopback traffic: nothing should try QUIC to anywhere.
  "--disable-quic",
];

export const INSTALL_HINT =
  "install it with `apt-get update && apt-get install -y chromium` (`npm test` does this first when run as root: test/setup/ensure.mjs)";

/** `which chromium`, without a shell. */
export function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "chromium");
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
 * Launches Chromium or throws. A missing browser fails the browser tests
 * rather than skipping them, in CI and locally alike: a skipped suite looks
 * green and hides that nothing ran.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    const where = process.env.CI === "true" ? "CI machine" : "machine";
    throw new Error(`Chromium is not on PATH on this ${where}, so the browser tests cannot run: ${INSTALL_HINT}`);
  }
  try {
    return await chromium.launch({ executablePath, args: ARGS, timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `Chromium at ${executablePath} failed to start (${(err as Error).message}); reinstall it: ${INSTALL_HINT}`,
    );
  }
}
