import type { IncomingHttpHeaders } from "node:http";
import { Code, type Status } from "../../call/status.js";
import { decodeStatusDetails, encodeStatusDetails } from "../../call/status-details.js";
import { firstValue } from "../../call/metadata.js";

/** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2 spec). */
export function encodeGrpcMessage(message: string): string {
  return encodeURIComponent(message).replace(/%(2[0-46-9A-F]|3[0-9A-F]|[4-6][0-9A-F]|7[0-9A-E])/g, (m) =>
    String.fromCharCode(parseInt(m.slice(1), 16)),
  );
}

export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The status fields a gRPC or gRPC-Web response ends with. */
export function statusToGrpcHeaders(status: Status): Record<string, string> {
  const h: Record<string, string> = { "grpc-status": String(status.code) };
  if (status.message) h["grpc-message"] = encodeGrpcMessage(status.message);
  if (status.details.length > 0) {
    h["grpc-status-details-bin"] = Buffer.from(encodeStatusDetails(status)).toString("base64").replace(/=+$/, "");
  }
  return h;
}

/** Reads grpc-status from trailers (or a trailers-only response's headers). */
export function statusFromGrpcHeaders(h: IncomingHttpHeaders, label: string): Status {
  const raw = firstValue(h["grpc-status"]);
  if (raw === undefined) {
    return { code: Code.INTERNAL, message: `${label} ended the call without a grpc-status`, details: [] };
  }
  // 1*DIGIT (gRPC over HTTP/2): Number() alone would read "" or " " as OK.
  const code = /^\d{1,2}$/.test(raw) ? Number(raw) : -1;
  if (code < 0 || code > 16) {
    return { code: Code.UNKNOWN, message: `${label} sent an invalid grpc-status "${raw}"`, details: [] };
  }
  const message = decodeGrpcMessage(firstValue(h["grpc-message"]) ?? "");
  const bin = firstValue(h["grpc-status-details-bin"]);
  let details: Status["details"] = [];
  if (bin) {
    try {
      details = decodeStatusDetails(Buffer.from(bin, "base64")).details;
    } catch {
      // Keep the code and message; undecodable details are dropped rather than failing the call.
    }
  }
  return { code, message, details };
}
