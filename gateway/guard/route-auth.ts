import type { JWTPayload } from "jose";
import type { Metadata } from "../call/metadata.js";
import type { RouteAuthConfig } from "../config/types.js";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";
import { claimAllows, claimOf, claimText, tokenFrom } from "./credentials.js";
import { clientSans, forwardedClientCert } from "./client-cert.js";
import { type JwtProvider, claimedIssuer } from "./jwt-provider.js";
import { guardUnavailable, permissionDenied, unauthenticated } from "./refusal.js";

/** How long a client is told to wait when a provider's keys cannot be fetched. */
const KEYS_RETRY_MS = 1000;

/**
 * One route's check. It throws the refusal, or sets the headers the
 * upstream gets (verified claims, the client certificate's identity) on
 * `md` and resolves with the verified claims. Synchronous where nothing is
 * waited for (mTLS).
 */
export type RouteCheck = (
  req: ServerRequest,
  res: ServerResponseLike,
  md: Metadata,
) => Promise<JWTPayload> | JWTPayload | undefined;

/** undefined for a route that requires nothing. */
export function routeCheck(
  auth: RouteAuthConfig | undefined,
  providers: ReadonlyMap<string, JwtProvider>,
): RouteCheck | undefined {
  if (!auth || auth.require === "none") return undefined;
  if (auth.require === "mtls") {
    const allowed = new Set(auth.subjectAltNames);
    return (req, res, md) => {
      const sans = clientSans(req);
      if (!sans) throw unauthenticated(res, false);
      if (!sans.some((s) => allowed.has(s))) throw permissionDenied();
      md[auth.identityHeader] = forwardedClientCert(sans);
      return undefined;
    };
  }
  const provider = providers.get(auth.provider);
  // The config checks route against providers; a snapshot built without them refuses every call rather than none.
  if (!provider) return (_req, res) => Promise.reject(unauthenticated(res, true));
  const others = [...providers.values()].filter((p) => p.config.issuer !== provider.config.issuer);
  const { fromHeader, forward } = provider.config;
  return async (_req, res, md) => {
    const token = tokenFrom(md, fromHeader);
    if (!token) throw unauthenticated(res, true);
    const verdict = await provider.verify(token);
    if (!verdict.ok) {
      if (verdict.unavailable) throw guardUnavailable(res, KEYS_RETRY_MS);
      // A valid token from another trusted issuer is a caller this route
      // does not admit (PERMISSION_DENIED), not one without credentials.
      const iss = claimedIssuer(token);
      const other = iss === undefined ? undefined : others.find((p) => p.config.issuer === iss);
      if (other && (await other.verify(token)).ok) throw permissionDenied();
      throw unauthenticated(res, true);
    }
    const claims = verdict.claims;
    for (const r of auth.requireClaims) if (!claimAllows(claimOf(claims, r.claim), r.values)) throw permissionDenied();
    if (!forward) delete md[fromHeader];
    for (const { claim, header } of auth.claimsToHeaders) {
      const text = claimText(claimOf(claims, claim));
      if (text !== undefined) md[header] = text;
    }
    return claims;
  };
}
