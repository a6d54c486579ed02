import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { EchoResponseSchema } from "../gen/acme/echo/v1/echo_pb.js";
import { parseCode } from "./codes.js";

// Request headers that make a replica misbehave on demand, per call. They let
// gateway tests check that metadata, trailers and error details survive the
// trip through the gateway without flipping replica-wide faults.

/** Mirrors `x-echo-trailer` into a response header and a response trailer. */
export const MIRROR_HEADER = "x-echo-trailer";
/** A Connect code name (e.g. "not_found") the call must fail with. */
export const FAIL_HEADER = "x-echo-fail";

export function applyTestHeaders(ctx: HandlerContext, replica: string): void {
  const mirrored = ctx.requestHeader.get(MIRROR_HEADER);
  if (mirrored !== null) {
    ctx.responseHeader.set("x-echo-header", mirrored);
    ctx.responseTrailer.set("x-echo-trailer", mirrored);
  }

  const failWith = ctx.requestHeader.get(FAIL_HEADER);
  if (failWith === null) return;
  const code = parseCode(failWith);
  if (code === undefined) {
    throw new ConnectError(`${FAIL_HEADER}: unknown code "${failWith}"`, Code.InvalidArgument);
  }
  // The detail is an EchoResponse rather than a google.rpc type so that the
  // test suite needs no extra descriptors to decode it on the far side.
  throw new ConnectError("requested failure", code, undefined, [
    { desc: EchoResponseSchema, value: { message: "detail", replica } },
  ]);
}
