import {
  type DescMessage,
  fromBinary,
  fromJsonString,
  toBinary,
  toJsonString,
  type Registry,
} from "@bufbuild/protobuf";
import type { Codec } from "../call/call.js";
import { Code, CallError } from "../call/status.js";
import { jsonDeeperThan } from "./json-depth.js";

export type Transcoder = (data: Uint8Array) => Uint8Array;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Converts one message between codecs. Only paths whose two codecs differ
 * decode anything; `undefined` means the bytes pass through untouched.
 */
export function transcoder(
  from: Codec,
  to: Codec,
  schema: DescMessage,
  registry: Registry,
  direction: "request" | "response",
  /** JSON nested deeper than this is refused before it is parsed (limits.maxJsonDepth). */
  maxJsonDepth = Infinity,
): Transcoder | undefined {
  if (from === to) return undefined;
  // A bad request message is the client's fault; a bad response the upstream's.
  const bad = direction === "request" ? Code.INVALID_ARGUMENT : Code.INTERNAL;
  if (from === "json") {
    return (data) => {
      if (jsonDeeperThan(data, maxJsonDepth))
        throw new CallError(
          bad,
          `${direction} message nests JSON deeper than ${maxJsonDepth} levels (limits.maxJsonDepth)`,
        );
      let text: string;
      try {
        text = utf8.decode(data);
      } catch {
        throw new CallError(bad, `${direction} message is not valid UTF-8 JSON`);
      }
      try {
        return toBinary(schema, fromJsonString(schema, text, { registry }));
      } catch (err) {
        throw new CallError(
          bad,
          `cannot decode ${direction} message as JSON ${schema.typeName}: ${(err as Error).message}`,
        );
      }
    };
  }
  return (data) => {
    try {
      return Buffer.from(toJsonString(schema, fromBinary(schema, data), { registry }));
    } catch (err) {
      throw new CallError(
        bad,
        `cannot decode ${direction} message as binary ${schema.typeName}: ${(err as Error).message}`,
      );
    }
  };
}
