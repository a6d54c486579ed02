import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { checkKind, collectFileRefs, readFileRefs, type ReadFile } from "./files.js";
import { formatProblem } from "./problems.js";

const PEM = new TextEncoder().encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
const DESCRIPTORS = toBinary(
  FileDescriptorSetSchema,
  create(FileDescriptorSetSchema, { file: [{ name: "a.proto", package: "a" }] }),
);

function fakeDisk(files: Record<string, Uint8Array>): { read: ReadFile; reads: string[] } {
  const reads: string[] = [];
  const read: ReadFile = async (path) => {
    reads.push(path);
    const bytes = files[path];
    if (!bytes) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
    return bytes;
  };
  return { read, reads };
}

describe("collectFileRefs", () => {
  it("finds listener, upstream and descriptor files", () => {
    const refs = collectFileRefs({
      listeners: [{ port: 1 }, { port: 2, tls: { cert: "c.pem", key: "k.pem", clientCa: "ca.pem" } }],
      clusters: { a: { tls: { ca: "up-ca.pem" } }, b: {} },
      descriptorSets: ["x.binpb"],
    });
    expect(refs).toEqual([
      { at: ["listeners", 1, "tls", "cert"], file: "c.pem", kind: "pem" },
      { at: ["listeners", 1, "tls", "key"], file: "k.pem", kind: "pem" },
      { at: ["listeners", 1, "tls", "clientCa"], file: "ca.pem", kind: "pem" },
      { at: ["clusters", "a", "tls", "ca"], file: "up-ca.pem", kind: "pem" },
      { at: ["descriptorSets", 0], file: "x.binpb", kind: "descriptorSet" },
    ]);
  });

  it("ignores malformed input", () => {
    expect(collectFileRefs({ listeners: [{ tls: { cert: 5 } }], clusters: [], descriptorSets: "x" })).toEqual([]);
    expect(collectFileRefs(null)).toEqual([]);
  });
});

describe("readFileRefs", () => {
  it("resolves relative paths against the base folder and reads each file once", async () => {
    const disk = fakeDisk({ "/cfg/c.pem": PEM, "/abs/k.pem": PEM });
    const refs = collectFileRefs({
      listeners: [{ tls: { cert: "c.pem", key: "/abs/k.pem" } }, { tls: { cert: "c.pem", key: "/abs/k.pem" } }],
    });
    const loaded = await readFileRefs(refs, "/cfg", disk.read);
    expect(loaded.problems).toEqual([]);
    expect([...loaded.contents.keys()]).toEqual(["c.pem", "/abs/k.pem"]);
    expect(disk.reads.sort()).toEqual(["/abs/k.pem", "/cfg/c.pem"]);
  });

  it("reports unreadable files at every path that names them", async () => {
    const refs = collectFileRefs({ listeners: [{ tls: { cert: "x.pem", key: "/nope/k.pem" } }] });
    const loaded = await readFileRefs(refs, "/cfg", fakeDisk({}).read);
    expect(loaded.problems.map(formatProblem)).toEqual([
      'listeners[0].tls.cert: cannot read file "x.pem": ENOENT (looked for /cfg/x.pem)',
      'listeners[0].tls.key: cannot read file "/nope/k.pem": ENOENT',
    ]);
  });

  it("reports files of the wrong kind", async () => {
    const refs = collectFileRefs({ descriptorSets: ["c.pem"], clusters: { a: { tls: { ca: "d.binpb" } } } });
    const loaded = await readFileRefs(refs, "/cfg", fakeDisk({ "/cfg/c.pem": PEM, "/cfg/d.binpb": DESCRIPTORS }).read);
    expect(loaded.problems.map(formatProblem)).toEqual([
      'clusters.a.tls.ca: "d.binpb" is not a PEM file (no "-----BEGIN" line)',
      expect.stringMatching(/^descriptorSets\[0\]: "c\.pem" is not a binary FileDescriptorSet/),
    ]);
  });
});

describe("checkKind", () => {
  it("accepts PEM text and descriptor sets", () => {
    expect(checkKind(PEM, "pem")).toBeUndefined();
    expect(checkKind(DESCRIPTORS, "descriptorSet")).toBeUndefined();
  });

  it("rejects an empty descriptor set", () => {
    expect(checkKind(new Uint8Array(), "descriptorSet")).toContain("is not a FileDescriptorSet with any files");
  });
});
