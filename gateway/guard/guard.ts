import type { JWTPayload } from "jose";
import type { CallHead } from "../call/call.js";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";
import type { Route } from "../route/route-table.js";
import type { RouteCheck } from "./route-auth.js";
import { type LimitedCall, type RateLimits, takeTokens } from "./rate-limit/rate-limits.js";

/**
 * The door of one config snapshot: each route's check, the rate limits, and
 * the headers only the gateway may send upstream. The call handler asks it
 * once per call, after the route is known and before anything of the call
 * (its body included) is read or sent upstream.
 */
export class Guard {
  constructor(
    /** By route index; undefined: the route requires nothing. */
    private readonly checks: ReadonlyArray<RouteCheck | undefined>,
    private readonly limits: RateLimits | undefined,
    /** Headers the gateway writes (claims, client identity): a client's copy never goes upstream, whatever the route. */
    private readonly owned: readonly string[],
  ) {}

  /**
   * Checks the call: throws (or rejects with) the CallError to answer it
   * with, or lets it through, with `head.metadata` as the upstream should
   * see it. undefined when nothing had to be waited for, which is every call
   * without JWT auth or a shared rate limit: no promise on that path.
   */
  admit(route: Route, head: CallHead, req: ServerRequest, res: ServerResponseLike): Promise<void> | undefined {
    const md = head.metadata;
    for (const h of this.owned) if (md[h] !== undefined) delete md[h];
    const check = this.checks[route.index];
    const rules = this.limits?.forPath(head.path);
    if (!check && !rules?.length) return undefined;
    const claims = check?.(req, res, md);
    if (!rules?.length) return claims instanceof Promise ? claims.then(() => {}) : undefined;
    const limit = (c: JWTPayload | undefined) => takeTokens(rules, { route, md, req, res, claims: c } as LimitedCall);
    // Claim keys need the verified claims: the limits count after auth.
    return claims instanceof Promise ? claims.then(limit) : limit(claims);
  }
}
