import { request } from "node:https";
import type { KubeObject } from "./manifests.js";

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
  /** The API server's `Warning` headers (deprecated APIs, fields it dropped). */
  warnings: string[];
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * Plain HTTPS requests to a kube-apiserver with one bearer token, as kubectl
 * sends them. Where an object is created is found the way kubectl finds it:
 * from the API server's discovery documents (/api/v1, /apis/GROUP/VERSION).
 */
export class ApiClient {
  private readonly discovery = new Map<string, Promise<ApiResource[]>>();

  constructor(
    readonly server: string,
    private readonly ca: Buffer,
    private readonly token: string,
  ) {}

  withToken(token: string): ApiClient {
    return new ApiClient(this.server, this.ca, token);
  }

  request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.server}${path}`,
        {
          method,
          ca: this.ca,
          timeout: 30_000,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: "application/json",
            ...(payload === undefined ? {} : { "content-type": "application/json" }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (c: string) => (text += c));
          res.on("end", () => {
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              parsed = { text };
            }
            const w = res.headers.warning;
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings: w === undefined ? [] : [w].flat() });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.end(payload);
    });
  }

  /** The collection `object` is created in, e.g. /apis/apps/v1/namespaces/shop/deployments. */
  async collection(object: KubeObject): Promise<string> {
    const prefix = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    let resources = this.discovery.get(prefix);
    if (!resources) {
      resources = this.request("GET", prefix).then((a) => {
        if (a.status !== 200) throw new Error(`GET ${prefix}: ${a.status} ${JSON.stringify(a.body)}`);
        return a.body.resources as ApiResource[];
      });
      this.discovery.set(prefix, resources);
    }
    const resource = (await resources).find((r) => r.kind === object.kind && !r.name.includes("/"));
    if (!resource) throw new Error(`${object.apiVersion} has no resource of kind ${object.kind}`);
    if (!resource.namespaced) return `${prefix}/${resource.name}`;
    if (!object.metadata.namespace) throw new Error(`${object.kind} ${object.metadata.name} has no namespace`);
    return `${prefix}/namespaces/${object.metadata.namespace}/${resource.name}`;
  }

  /**
   * POSTs `object` (dryRun: the server validates, admits and defaults it, and
   * stores nothing). fieldValidation=Strict turns an unknown or duplicated
   * field into an error instead of a warning, so a typo in a manifest fails.
   */
  async create(object: KubeObject, options: { dryRun: boolean }): Promise<ApiAnswer> {
    const query = `?fieldValidation=Strict${options.dryRun ? "&dryRun=All" : ""}`;
    return this.request("POST", `${await this.collection(object)}${query}`, object);
  }
}
