import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import type { Detail, Status } from "./status.js";

const TYPE_PREFIX = "type.googleapis.com/";

/**
 * google.rpc.Status {int32 code = 1; string message = 2; repeated Any details = 3}
 * as gRPC carries it in grpc-status-details-bin. Hand-coded so translating an
 * error does not need the googleapis descriptors.
 */
export function encodeStatusDetails(status: Status): Uint8Array {
  const w = new BinaryWriter();
  if (status.code !== 0) w.tag(1, 0).int32(status.code);
  if (status.message) w.tag(2, 2).string(status.message);
  for (const d of status.details) {
    w.tag(3, 2).fork();
    w.tag(1, 2).string(d.type.includes("/") ? d.type : TYPE_PREFIX + d.type);
    w.tag(2, 2).bytes(d.value);
    w.join();
  }
  return w.finish();
}

export function decodeStatusDetails(bytes: Uint8Array): Status {
  const r = new BinaryReader(bytes);
  const out: Status = { code: 0, message: "", details: [] };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 0) out.code = r.int32();
    else if (field === 2 && wire === 2) out.message = r.string();
    else if (field === 3 && wire === 2) out.details.push(decodeAny(r.bytes()));
    else r.skip(wire);
  }
  return out;
}

function decodeAny(bytes: Uint8Array): Detail {
  const r = new BinaryReader(bytes);
  let type = "";
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) type = r.string();
    else if (field === 2 && wire === 2) value = r.bytes();
    else r.skip(wire);
  }
  const slash = type.lastIndexOf("/");
  return { type: slash >= 0 ? type.slice(slash + 1) : type, value };
}
