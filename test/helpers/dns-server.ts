import dns2 from "dns2";
import type { AddressInfo } from "node:net";

const { Packet } = dns2;

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** The records of one name; a name not in the zone is NXDOMAIN. */
export interface NameRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecord[];
  /** Seconds; default 30. */
  ttl?: number;
}

/**
 * A real DNS server (dns2, over UDP) on loopback whose records a test sets
 * and changes. `mode` makes it misbehave: "servfail" answers SERVFAIL,
 * "silent" reads queries and answers none. stop() closes the socket (the
 * resolver then gets ICMP port unreachable); start() opens it again on the
 * same port.
 */
export class TestDnsServer {
  zone: Record<string, NameRecords> = {};
  mode: "answer" | "servfail" | "silent" = "answer";
  /** Queries received, by "TYPE name". */
  readonly queries = new Map<string, number>();
  private server: ReturnType<typeof dns2.createUDPServer> | undefined;
  port = 0;

  static async start(zone: Record<string, NameRecords> = {}): Promise<TestDnsServer> {
    const s = new TestDnsServer();
    s.zone = zone;
    await s.start();
    return s;
  }

  /** "127.0.0.1:port", for discovery.dns.servers. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = dns2.createUDPServer((req, send) => {
      const q = req.questions[0];
      if (!q) return;
      const type = Object.entries(Packet.TYPE).find(([, v]) => v === q.type)?.[0] ?? String(q.type);
      const key = `${type} ${q.name.toLowerCase()}`;
      this.queries.set(key, (this.queries.get(key) ?? 0) + 1);
      if (this.mode === "silent") return;
      const res = Packet.createResponseFromRequest(req);
      res.header.aa = 1;
      const records = this.zone[q.name.toLowerCase().replace(/\.$/, "")];
      if (this.mode === "servfail") res.header.rcode = 2;
      else if (!records)
        res.header.rcode = 3; // NXDOMAIN
      else {
        const base = { name: q.name, class: Packet.CLASS.IN, ttl: records.ttl ?? 30 };
        const add = (fields: object) =>
          res.answers.push({ ...base, ...fields } as unknown as (typeof res.answers)[number]);
        if (q.type === Packet.TYPE.A) for (const address of records.A ?? []) add({ type: Packet.TYPE.A, address });
        if (q.type === Packet.TYPE.AAAA)
          for (const address of records.AAAA ?? []) add({ type: Packet.TYPE.AAAA, address });
        if (q.type === Packet.TYPE.SRV) for (const r of records.SRV ?? []) add({ type: Packet.TYPE.SRV, ...r });
      }
      void send(res).catch(() => {});
    });
    server.on("error", () => {});
    await server.listen(this.port, "127.0.0.1");
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  count(type: string, name: string): number {
    return this.queries.get(`${type} ${name}`) ?? 0;
  }
}
