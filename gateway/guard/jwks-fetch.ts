import http from "node:http";
import https from "node:https";
import type { FetchImplementation } from "jose";

/** A key set bigger than this is not one: refuse it rather than buffer it. */
const MAX_JWKS_BYTES = 1024 * 1024;
/** After a failed fetch, calls fail at once for this long instead of each trying again. */
const FAILURE_HOLD_MS = 1000;

/** A key set that could not be fetched: the issuer's fault (or the network's), never the caller's. */
export class JwksUnavailable extends Error {}

/**
 * How jose fetches a provider's JWKS: node:https, so a private CA
 * (`jwksCa`) can verify the key server, which Node's global fetch cannot be
 * told per request. jose fetches once for every caller waiting on an unknown
 * key and then waits out its cooldown; this adds the same restraint for
 * failures, which jose does not count: after one, every fetch fails at once
 * for a second, so a key server that is down sees one request a second, not
 * one per call.
 */
export function jwksFetch(ca: string | undefined): FetchImplementation {
  let failedAt = -Infinity;
  return (url, options) => {
    if (Date.now() - failedAt < FAILURE_HOLD_MS) {
      return Promise.reject(new JwksUnavailable(`key set fetch failed less than ${FAILURE_HOLD_MS} ms ago`));
    }
    return get(url, options, ca).then(
      (response) => {
        if (response.status !== 200) failedAt = Date.now();
        return response;
      },
      (err: unknown) => {
        failedAt = Date.now();
        throw err;
      },
    );
  };
}

function get(url: string, options: Parameters<FetchImplementation>[1], ca: string | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    options.headers.forEach((v, k) => (headers[k] = v));
    const opts: https.RequestOptions = { method: "GET", headers, signal: options.signal, agent: false };
    if (ca !== undefined) opts.ca = ca;
    const req = (u.protocol === "https:" ? https : http).request(u, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) req.destroy(new JwksUnavailable(`key set larger than ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on("end", () => {
        const status = res.statusCode ?? 500;
        // Only a 200 is read (jose's rule); a body on a 204 or 304 would not even make a Response.
        resolve(new Response(status === 200 ? Buffer.concat(chunks) : null, { status }));
      });
      res.on("error", reject);
    });
    req.on("error", (err) => reject(err.name === "AbortError" ? options.signal.reason : err));
    req.end();
  });
}
