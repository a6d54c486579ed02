import { noop } from "cockatiel";
import { Etcd3, type Lease } from "etcd3";

/** Where a replica registers: etcd's client URLs and the key prefix, from `etcd://host:port[,host:port]/prefix/`. */
export interface EtcdTarget {
  endpoints: string[];
  prefix: string;
}

/** Parses `etcd://127.0.0.1:2379/services/echo/` (several hosts: `etcd://a:2379,b:2379/services/echo/`). */
export function parseEtcdTarget(text: string): EtcdTarget | string {
  const m = /^etcd:\/\/([^/]+)(\/.*)$/.exec(text);
  if (!m) return `"${text}" is not etcd://host:port/prefix/`;
  const [, hosts, prefix] = m;
  if (prefix === "/") return `"${text}" has no key prefix after the host, e.g. etcd://127.0.0.1:2379/services/echo/`;
  const endpoints: string[] = [];
  for (const h of hosts.split(",")) {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(h);
    if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return `"${h}" in "${text}" is not host:port`;
    endpoints.push(`http://${h}`);
  }
  return { endpoints, prefix };
}

export interface Registration {
  /** The key this replica's address is under. */
  readonly key: string;
  /** Deletes the key (by revoking its lease) and stops renewing; bounded by timeoutMs if etcd does not answer. */
  deregister(timeoutMs: number): Promise<void>;
}

/** The lease's TTL: how long a replica that died without deregistering stays listed. */
export const REGISTER_TTL_SECONDS = 5;

/**
 * Puts `<prefix><address>` = `{"Addr":"<address>"}` under a lease of
 * REGISTER_TTL_SECONDS and keeps the lease alive: the layout grpc-go's etcd
 * naming package writes (its endpoints.Manager keys by address too), so the
 * gateway and Go or Java clients read it alike. Keyed by address, not name,
 * so a restarted replica's old and new registrations cannot delete each
 * other's. If etcd is unreachable, or the lease is lost (etcd down longer than
 * the TTL), it registers again, with backoff, until deregister().
 */
export function registerInEtcd(
  target: EtcdTarget,
  address: string,
  log: (line: string) => void = () => {},
): Registration {
  const key = `${target.prefix}${address}`;
  const value = JSON.stringify({ Addr: address });
  const client = new Etcd3({
    hosts: target.endpoints,
    // Retries are this function's: etcd3's circuit breaker would hold a recovered etcd off for 5 s.
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + 3_000 }),
  });
  let lease: Lease | undefined;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const register = async (): Promise<void> => {
    if (stopped) return;
    const l = client.lease(REGISTER_TTL_SECONDS);
    lease = l;
    l.on("lost", (err: Error) => {
      if (stopped || lease !== l) return;
      log(`etcd: lease for ${key} lost (${err.message}); registering again`);
      retry();
    });
    try {
      await l.put(key).value(value);
      if (stopped || lease !== l) return;
      if (failures > 0) log(`etcd: registered ${key} after ${failures} failed attempt(s)`);
      else log(`etcd: registered ${key} (lease TTL ${REGISTER_TTL_SECONDS}s)`);
      failures = 0;
    } catch (err) {
      if (stopped || lease !== l) return;
      if (failures === 0) log(`etcd: cannot register ${key} yet (${(err as Error).message}); retrying`);
      retry();
    }
  };
  const retry = () => {
    lease?.release();
    lease = undefined;
    failures++;
    clearTimeout(timer);
    timer = setTimeout(() => void register(), Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
  };
  void register();

  return {
    key,
    async deregister(timeoutMs) {
      stopped = true;
      clearTimeout(timer);
      const l = lease;
      lease = undefined;
      // Revoking the lease deletes the key at once; the TTL is the fallback if etcd is away.
      const revoked = l
        ? l.revoke().catch(() =>
            client
              .delete()
              .key(key)
              .then(() => {}),
          )
        : client
            .delete()
            .key(key)
            .then(() => {});
      let t: NodeJS.Timeout | undefined;
      await Promise.race([revoked.catch(() => {}), new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
      clearTimeout(t);
      client.close();
    },
  };
}
