import type { ServiceName } from "./service-name.js";

// What `switchyard new-service` writes. Each text is what a team starts
// from, so it explains itself; the scaffold's test (test/scaffold) runs the
// generated test to keep these working.

/** An import line of a written file; built, not spelled out, so bin/check-layers.mjs does not take it for this file's. */
function use(names: string, from: string): string {
  return `import ${names} from "${from}";`;
}

export function protoText(n: ServiceName): string {
  return `syntax = "proto3";

// ${n.full}, written by \`switchyard new-service\`. Change it freely, then
// run \`npm run generate\` (buf generate) and restart the replica: a gateway
// whose cluster says \`descriptors: reflection\` learns the new version at
// its next refresh, without a descriptor file or a restart.
package ${n.pkg};

service ${n.service} {
  // A read. NO_SIDE_EFFECTS tells every client and the gateway it is safe
  // to repeat: the gateway may retry or hedge it after it reached the
  // service, and Connect clients may call it with GET (cacheable).
  rpc GetItem(GetItemRequest) returns (GetItemResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // A write, left unmarked: once a call may have reached the service the
  // gateway never repeats it, and GET is refused.
  rpc CreateItem(CreateItemRequest) returns (CreateItemResponse);
}

message Item {
  string id = 1;
  string name = 2;
}

message GetItemRequest {
  string id = 1;
}

message GetItemResponse {
  Item item = 1;
  // Which replica answered: handy behind a balancing gateway.
  string replica = 2;
}

message CreateItemRequest {
  string name = 1;
}

message CreateItemResponse {
  Item item = 1;
  string replica = 2;
}
`;
}

export function serviceText(n: ServiceName): string {
  return `${use("{ Code, ConnectError }", "@connectrpc/connect")}
${use(`{ ${n.service}, ${n.fileExport} }`, `../../gen/${n.genModule}.js`)}
${use("{ defineService }", "../hosted.js")}

// ${n.full}, hosted by the demo replica with health and server reflection:
//   npm run replica -- --service ${n.short} --port 50061
// Items live in this replica's memory: a sketch to replace with real storage.
export default defineService({
  service: ${n.service},
  file: ${n.fileExport},
  implement: ({ replica }) => {
    const items = new Map<string, { id: string; name: string }>();
    let created = 0;
    return {
      async getItem(req) {
        const item = items.get(req.id);
        if (!item) throw new ConnectError(\`no item "\${req.id}"\`, Code.NotFound);
        return { item, replica };
      },
      async createItem(req) {
        if (req.name === "") throw new ConnectError("name is required", Code.InvalidArgument);
        const item = { id: \`\${replica}-\${++created}\`, name: req.name };
        items.set(item.id, item);
        return { item, replica };
      },
    };
  },
});
`;
}

export function testText(n: ServiceName): string {
  return `${use("{ afterAll, beforeAll, describe, expect, it }", "vitest")}
${use("{ createClient }", "@connectrpc/connect")}
${use("{ createGrpcTransport }", "@connectrpc/connect-node")}
${use(`{ ${n.service} }`, `../../gen/${n.genModule}.js`)}
${use("{ validateConfigObject }", "../../gateway/config/load.js")}
${use("{ startGateway, type Gateway }", "../../gateway/server.js")}
${use("{ startReplica, type Replica }", "../replica.js")}
${use("hosted", "./service.js")}

// ${n.full} through a gateway configured as \`switchyard new-service\`
// printed: the gateway is given no descriptor and learns the API from the
// replica's server reflection.

let replica: Replica;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  replica = await startReplica({ name: "${n.short}-1", services: [hosted] });
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      clusters: { ${n.short}: { protocol: "grpc", descriptors: "reflection", endpoints: [replica.address] } },
      routes: [{ match: { service: "${n.full}" }, cluster: "${n.short}" }],
    },
    process.cwd(),
  );
  gateway = await startGateway(config);
  await gateway.reflection.settled();
  url = \`http://127.0.0.1:\${gateway.ports[0]}\`;
});

afterAll(async () => {
  await gateway?.close();
  await replica?.close();
});

async function post(method: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(\`\${url}/${n.full}/\${method}\`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("${n.full} through the gateway", () => {
  it("answers gRPC", async () => {
    const client = createClient(${n.service}, createGrpcTransport({ baseUrl: url }));
    const created = await client.createItem({ name: "first" });
    expect(created.item?.name).toBe("first");
    expect(created.replica).toBe("${n.short}-1");
    const got = await client.getItem({ id: created.item!.id });
    expect(got.item).toEqual(created.item);
  });

  it("answers Connect with JSON, and GET for the read only", async () => {
    const created = await post("CreateItem", { name: "second" });
    expect(created).toMatchObject({ status: 200, json: { item: { name: "second" }, replica: "${n.short}-1" } });
    const id = created.json.item.id as string;
    const query = (m: string, message: unknown) =>
      \`\${url}/${n.full}/\${m}?connect=v1&encoding=json&message=\${encodeURIComponent(JSON.stringify(message))}\`;
    const read = await fetch(query("GetItem", { id }));
    expect(await read.json()).toEqual({ item: { id, name: "second" }, replica: "${n.short}-1" });
    expect((await fetch(query("CreateItem", { name: "third" }))).status).toBe(501);
    expect(await post("GetItem", { id: "nope" })).toEqual({
      status: 404,
      json: { code: "not_found", message: 'no item "nope"' },
    });
  });
});
`;
}

/** What to paste into the gateway's config, and how to try it. */
export function instructions(n: ServiceName, port: number, written: string[]): string {
  return `Wrote ${written.join(", ")}, and ran buf generate.

Run it (the demo replica hosts it, with health and server reflection):
  npm run replica -- --service ${n.short} --port ${port}

Add it to the gateway's config; the gateway learns the API from the replica's
server reflection, so no descriptor file is needed:

clusters:
  ${n.short}:
    protocol: grpc
    descriptors: reflection
    endpoints: ["127.0.0.1:${port}"]
routes:
  - match: { service: ${n.full} }
    cluster: ${n.short}

Call it through the gateway (here on :8080):
  curl -s localhost:8080/${n.full}/CreateItem -H 'content-type: application/json' -d '{"name":"first"}'
  grpcurl -plaintext localhost:8080 describe ${n.full}

Test it: npx vitest run services/${n.short}
`;
}
