import { describe, expect, it } from "vitest";
import { CallError, Code } from "../../call/status.js";
import { decodeBase64Stream } from "./base64-stream.js";

async function decode(chunks: Array<string | Uint8Array>): Promise<Buffer> {
  async function* src() {
    for (const c of chunks) yield typeof c === "string" ? Buffer.from(c, "latin1") : c;
  }
  const out: Buffer[] = [];
  for await (const b of decodeBase64Stream(src())) out.push(b);
  return Buffer.concat(out);
}

async function failure(chunks: string[]): Promise<CallError> {
  try {
    await decode(chunks);
  } catch (err) {
    if (err instanceof CallError) return err;
    throw err;
  }
  throw new Error("expected a CallError");
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
// Lengths 7, 5 and 6: padded with "==", "=" and nothing.
const parts = [
  Buffer.from([0x00, 0x00, 0x00, 0x00, 0x02, 0x41, 0x42]),
  Buffer.from([0x80, 0xff, 0x10, 0x20, 0x30]),
  Buffer.from("hello!"),
];
const whole = Buffer.concat(parts);

describe("decodeBase64Stream", () => {
  it("decodes one padded run", async () => {
    expect(await decode([b64(whole)])).toEqual(whole);
  });

  it("decodes a body padded at every flush: each padded run starts afresh", async () => {
    const text = parts.map(b64).join("");
    expect(text).toMatch(/=.*=/);
    expect(await decode([text])).toEqual(whole);
  });

  it("gives the same bytes however the text is split into chunks", async () => {
    const text = parts.map(b64).join("");
    for (let size = 1; size <= text.length; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(await decode(chunks), `chunks of ${size}`).toEqual(whole);
    }
    for (let cut = 0; cut <= text.length; cut++) {
      expect(await decode([text.slice(0, cut), "", text.slice(cut)]), `cut at ${cut}`).toEqual(whole);
    }
  });

  it("ignores line breaks and spaces between characters", async () => {
    const text = b64(whole);
    expect(await decode([text.slice(0, 4) + "\r\n" + text.slice(4, 9) + " \t" + text.slice(9)])).toEqual(whole);
  });

  it("yields nothing for an empty body", async () => {
    expect((await decode([])).length).toBe(0);
    expect((await decode(["", ""])).length).toBe(0);
  });

  it("answers characters outside base64 with INVALID_ARGUMENT", async () => {
    const err = await failure(["AAAA", "AA*A"]);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/invalid base64/);
    expect((await failure(["AAAA-_AA"])).code).toBe(Code.INVALID_ARGUMENT);
  });

  it("answers a body whose length is not a multiple of 4 with INVALID_ARGUMENT", async () => {
    const err = await failure(["AAAAAA"]);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/not a multiple of 4/);
  });

  it("answers padding in the first two places of a quad with INVALID_ARGUMENT", async () => {
    for (const bad of ["A===", "====", "AAAA=AAA"]) {
      const err = await failure([bad]);
      expect(err.code, bad).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/padding/);
    }
  });
});
