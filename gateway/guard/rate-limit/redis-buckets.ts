import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Buckets } from "./token-bucket.js";
import type { SharedStore } from "./shared-store.js";

/**
 * MemoryBuckets' GCRA in Redis, as rate-limiter-flexible's script hook
 * takes it: KEYS[1] the bucket, ARGV[1] tokens to take, ARGV[3] the
 * limiter's points (burst), ARGV[4] its duration (burst / tokensPerSecond
 * seconds: the time an empty bucket takes to fill). It answers the
 * library's {consumed, ttl}: a refusal says burst + 1 consumed and, as ttl,
 * the milliseconds until a token. Redis's own clock is the one clock every
 * gateway process shares.
 */
export const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local burst = tonumber(ARGV[3])
local interval = tonumber(ARGV[4]) * 1000 / burst
local depth = burst * interval
local stored = redis.call('GET', KEYS[1])
local full = now
if stored then
  full = math.max(tonumber(stored), now)
end
local ahead = full + tonumber(ARGV[1]) * interval - now
if ahead > depth + 0.000001 then
  return {burst + 1, math.ceil(ahead - depth)}
end
redis.call('SET', KEYS[1], string.format('%.3f', now + ahead), 'PX', math.ceil(ahead))
return {math.ceil(ahead / interval - 0.000001), math.ceil(ahead)}
`;

/** Token buckets kept in Redis, shared by every gateway process that names the same store and rule. */
export class RedisBuckets implements Buckets {
  private readonly limiter: RateLimiterRedis;

  constructor(
    private readonly store: SharedStore,
    keyPrefix: string,
    tokensPerSecond: number,
    burst: number,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: store.client,
      keyPrefix,
      points: burst,
      duration: burst / tokensPerSecond,
      customIncrTtlLuaScript: GCRA_LUA,
      // Fail at once while the connection is down, rather than queue the call behind a reconnect.
      rejectIfRedisNotReady: true,
    });
  }

  async take(key: string): Promise<number> {
    const first = this.store.firstConnection();
    if (first) await first;
    try {
      // customDuration only steers the library onto its script path (it
      // takes a whole number of seconds); the script sets its own expiry.
      await this.limiter.consume(key, 1, { customDuration: 1 });
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
      throw err;
    }
  }
}
