// Status codes are gRPC's numbers everywhere inside the gateway; each protocol
// adapter converts at its edge, so translation is a lookup, not N×N code.
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** An error detail as every protocol carries it: a protobuf Any, split. */
export interface Detail {
  /** Fully-qualified message name, without the type.googleapis.com/ prefix. */
  type: string;
  value: Uint8Array;
  /** Connect's optional human-readable form; never sent over gRPC. */
  debug?: unknown;
}

export interface Status {
  code: Code;
  message: string;
  details: Detail[];
  /**
   * The HTTP status an upstream answered with when it sent no RPC status at
   * all (e.g. a plain 404 for a path it does not serve). A Connect unary
   * response reuses it, so "no such procedure" stays a 404 instead of
   * becoming the 501 of an UNIMPLEMENTED error.
   */
  httpStatus?: number;
}

export function status(code: Code, message: string, details: Detail[] = []): Status {
  return { code, message, details };
}

/** Thrown inside the gateway when a call must end with a given status. */
export class CallError extends Error {
  readonly code: Code;
  readonly details: Detail[];
  constructor(code: Code, message: string, details: Detail[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
  toStatus(): Status {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function toStatus(err: unknown): Status {
  if (err instanceof CallError) return err.toStatus();
  const message = err instanceof Error ? err.message : String(err);
  return status(Code.INTERNAL, `gateway error: ${message}`);
}

const connectNames: string[] = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

export function codeToConnectName(code: Code): string {
  return connectNames[code] ?? "unknown";
}

export function connectNameToCode(name: unknown): Code {
  if (typeof name !== "string") return Code.UNKNOWN;
  const i = connectNames.indexOf(name);
  return i > 0 ? (i as Code) : Code.UNKNOWN;
}

/** Parses "UNAVAILABLE", "unavailable" or "14". */
export function parseCodeName(name: string): Code | undefined {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return n >= 0 && n <= 16 ? (n as Code) : undefined;
  }
  const upper = name.toUpperCase();
  if (upper === "CANCELED") return Code.CANCELLED;
  const v = (Code as unknown as Record<string, number>)[upper];
  return typeof v === "number" ? (v as Code) : undefined;
}

const connectHttpStatus: Record<number, number> = {
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

/** HTTP status of a Connect unary error (connect protocol spec). */
export function codeToHttpStatus(code: Code): number {
  return connectHttpStatus[code] ?? 500;
}

/**
 * The code a gRPC client infers from a non-200 HTTP status or a Connect
 * response without a JSON error body (gRPC's http-grpc-status-mapping.md).
 */
export function httpStatusToCode(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}
