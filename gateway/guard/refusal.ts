import { CallError, Code } from "../call/status.js";
import type { ServerResponseLike } from "../protocol/contract.js";

// How the guard says no. Each refusal is a CallError the call handler
// answers in the client's protocol (gRPC status, gRPC-Web trailers, Connect
// JSON with 401/403/429/503 for unary), with the headers set here on the
// response first, so they go out with it in every protocol (in gRPC's
// trailers-only answer too) next to the CORS headers. The messages are the
// same whichever check failed: a caller probing the door learns the code
// and nothing else.

export function unauthenticated(res: ServerResponseLike, bearer: boolean): CallError {
  // RFC 6750: a 401 names the scheme it wants, and no more than that here.
  if (bearer) res.setHeader("www-authenticate", "Bearer");
  return new CallError(Code.UNAUTHENTICATED, "missing or invalid credentials");
}

export function permissionDenied(): CallError {
  return new CallError(Code.PERMISSION_DENIED, "not allowed to call this method");
}

/** Over a rate limit: come back when a token is there. */
export function rateLimited(res: ServerResponseLike, retryMs: number): CallError {
  pushback(res, retryMs);
  return new CallError(Code.RESOURCE_EXHAUSTED, "rate limit exceeded");
}

/** Something the guard needs is down (a key set, a shared rate limit store): try again shortly. */
export function guardUnavailable(res: ServerResponseLike, retryMs: number): CallError {
  pushback(res, retryMs);
  return new CallError(Code.UNAVAILABLE, "cannot admit calls right now, try again later");
}

/** HTTP's retry-after (whole seconds, rounded up) and gRPC's pushback (A6: milliseconds). */
function pushback(res: ServerResponseLike, retryMs: number): void {
  const ms = Math.max(1, Math.ceil(retryMs));
  res.setHeader("retry-after", String(Math.ceil(ms / 1000)));
  res.setHeader("grpc-retry-pushback-ms", String(ms));
}
