import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export interface PageServer {
  /** e.g. http://127.0.0.1:41234: a different origin from the gateway (another port). */
  origin: string;
  close(): Promise<void>;
}

/**
 * Bundles ./page/main.ts for the browser and serves it from memory. Bundling
 * at run time keeps no build output in the repo and always tests the current
 * client code; platform "browser" also makes any accidental Node import in the
 * page fail the bundle instead of sneaking through the shared tsconfig.
 */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./page/main.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    sourcemap: "inline",
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

export async function startPageServer(): Promise<PageServer> {
  const js = await bundlePage();
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Switchyard browser clients</title>
<script src="/page.js"></script></head><body>Switchyard browser clients</body></html>`;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    } else if (req.method === "GET" && path === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(js);
    } else {
      // favicon.ico and anything else
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
