import { readFileSync } from "node:fs";

/**
 * The dashboard's files: dashboard/ bundled by bin/build.mjs into
 * dist/dashboard/ (the page and its script, connect-web included). Found
 * relative to this module, whether it runs from dist/ (npm start, the CLI)
 * or from source under tsx (the tests), which reads the built copy.
 */
const FOLDERS = [new URL("../../dashboard/", import.meta.url), new URL("../../dist/dashboard/", import.meta.url)];

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES = {
  "index.html": "text/html; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
  "dashboard.js.map": "application/json",
};

export type AssetName = keyof typeof TYPES;

const cache = new Map<string, Asset>();

/** One of the dashboard's files, or undefined when it is not built. */
export function dashboardAsset(name: AssetName): Asset | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  for (const folder of FOLDERS) {
    try {
      const asset = { type: TYPES[name], body: readFileSync(new URL(name, folder)) };
      cache.set(name, asset);
      return asset;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export const NOT_BUILT =
  "The dashboard is not built: run `npm run build` (bin/build.mjs bundles dashboard/ into dist/dashboard/).\n" +
  "The admin API answers without it, e.g.\n" +
  "  curl -s -X POST <admin>/switchyard.admin.v1.AdminService/ListClusters -H 'content-type: application/json' -d '{}'\n";
