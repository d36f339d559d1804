//! The Lua scripts that make cluster bookkeeping atomic. Each runs in one Redis call, so no two
//! nodes ever see a half-done claim, release or sweep. Times come from the Redis clock (`TIME`),
//! so node clocks need not agree.

use std::sync::LazyLock;

use redis::Script;

/// Heartbeat. KEYS: nodes, swept:me. ARGV: me, ttl_ms.
/// Returns `{added, swept, alive…, "", expired…}`: `added` is 1 when this node's entry was missing
/// (first start, or a Redis that lost its data), `swept` is 1 when a peer swept this node; then
/// the nodes heard from within the TTL, an empty separator, and those not. A dead node stays
/// listed as expired for ten TTLs, so every peer notices it from its own readings whoever swept
/// it first; after that its entry is dropped.
pub(super) static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - 10 * tonumber(ARGV[2])))
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local swept = redis.call('DEL', KEYS[2])
local out = {added, swept}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], cutoff, '+inf')) do out[#out + 1] = n end
out[#out + 1] = ''
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)) do out[#out + 1] = n end
return out
",
    )
});

/// Claim a name. A claim's value is `node|seq`, so a release names the exact claim it ends and
/// a late release cannot undo a newer claim of the same name. KEYS: names, owned:me, seq.
/// ARGV: field, me. Returns the claim's cluster-wide sequence number, or -1 if another node
/// holds the name. Claiming a name this node already holds succeeds again with a new sequence
/// number (re-registration after a Redis loss, or a new client taking a released name).
pub(super) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.match(v, '^(.*)|') ~= ARGV[2] then return -1 end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. seq)
redis.call('SADD', KEYS[2], ARGV[1])
return seq
",
    )
});

/// Release one claim. KEYS: names, owned:me. ARGV: field, `me|seq`.
pub(super) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
",
    )
});

/// Sweep a dead node: release its names and leave it a `swept` marker (its entry stays, expired,
/// so that every peer sees the death). Does nothing if the node heartbeated again in the
/// meantime; idempotent, so every node that notices a death may run it. KEYS: nodes, names, owned:dead, swept:dead. ARGV: dead, ttl_ms, marker_ttl_ms.
/// Returns the number of names released, or -1 if the node is alive after all.
pub(super) static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) >= now - tonumber(ARGV[2]) then return -1 end
local released = 0
for _, f in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local v = redis.call('HGET', KEYS[2], f)
  if v and string.match(v, '^(.*)|') == ARGV[1] then
    redis.call('HDEL', KEYS[2], f)
    released = released + 1
  end
end
redis.call('DEL', KEYS[3])
if score then redis.call('SET', KEYS[4], '1', 'PX', ARGV[3]) end
return released
",
    )
});

/// Deregister this node on a clean exit: release every name it holds and drop its entry.
/// KEYS: nodes, names, owned:me. ARGV: me.
pub(super) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for _, f in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local v = redis.call('HGET', KEYS[2], f)
  if v and string.match(v, '^(.*)|') == ARGV[1] then redis.call('HDEL', KEYS[2], f) end
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
",
    )
});
