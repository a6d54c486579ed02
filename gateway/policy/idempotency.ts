/**
 * Whether a call may be sent again after it may have reached the upstream
 * (a retry past the first byte, or a hedge). The proto's idempotency_level
 * (NO_SIDE_EFFECTS or IDEMPOTENT) says so, or the operator listed the full
 * method path in `idempotentMethods` for APIs whose protos do not.
 *
 * Calls that never left the gateway are always safe to send again; that is
 * the caller's decision, not this one's.
 */
export function isSafeToRepeat(path: string, protoIdempotent: boolean, idempotentMethods: readonly string[]): boolean {
  return protoIdempotent || idempotentMethods.includes(path);
}
