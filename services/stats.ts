/** The EchoService RPCs, by the names operators see in the proto and logs. */
export type EchoMethod = "Echo" | "Count" | "Sum" | "Chat" | "Write";

/**
 * What a replica has been asked to do. Gateway tests read it to prove where
 * retries, hedges and balancing actually sent traffic, so every call counts,
 * including the ones a fault then fails.
 */
export interface EchoStats {
  calls: Record<EchoMethod, number>;
  /** Writes this replica accepted; doubles as the version Write returns. */
  writes: number;
  /** Streams this replica saw cancelled mid-way: proof a client's cancel travelled upstream. */
  cancelled: number;
}

export function createStats(): EchoStats {
  // Every method starts at zero so /stats has the same shape before traffic.
  return { calls: { Echo: 0, Count: 0, Sum: 0, Chat: 0, Write: 0 }, writes: 0, cancelled: 0 };
}
