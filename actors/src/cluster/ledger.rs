//! The cluster's webhook ledger, in Redis: each announced room's state beyond the life of any
//! node, and each tenant's events until they are delivered ([`crate::hooks`] says how it is
//! used).
//!
//! - A room's hash (`hooks:room:T:D:R`) holds its home and the instance of the room there, its
//!   participants (`p:NAME` → the node each is on), how many are on each node (`n:NODE`), the
//!   event counter (`seq`) and where its events go.
//! - A node's set (`hooks:node:N`) lists the rooms it is the home of or has participants in,
//!   so a dead node is swept without a scan.
//! - A tenant's stream (`hooks:events:T`) holds its events not yet delivered; a delivered one
//!   is deleted from it. The tenant's lease (`hooks:lease:T`) names the node delivering them.
//!
//! Hooks are applied by scripts, each atomic, which make events exactly once: a participant
//! already in the room joins without an event, one not in it leaves without one, and a room
//! whose previous instance died with its home closes (its participants leaving) before the new
//! one is created. Redis keeps the events it was given; if it loses its data, undelivered
//! events are lost with it.

use std::{sync::LazyLock, time::Duration};

use redis::Script;

use super::{Cluster, ClusterError};
use crate::{
    hooks::{Entry, RoomHook},
    ids::{NodeId, Tenant},
};

/// How long a node's lead of a tenant's deliveries lasts unless renewed: a dead leader's
/// tenant is taken over this long after its last renewal, at most.
const LEASE: Duration = Duration::from_secs(10);
/// Most events a tenant may have waiting; past it, new ones are dropped.
const MAX_WAITING: u64 = 100_000;
/// Values per event read back: its id and its seven fields.
const ENTRY_VALUES: usize = 8;

/// Functions every ledger script starts with. `np` is the prefix of the nodes' sets;
/// `tally` counts the events added and those dropped (the stream was full).
const LIB: &str = r"
local tally = {0, 0}
local function emit(r, event, participant, node, at, max)
  local f = redis.call('HMGET', r, 'events', 'dialect', 'name')
  if redis.call('XLEN', f[1]) >= max then tally[2] = tally[2] + 1 return end
  local seq = redis.call('HINCRBY', r, 'seq', 1)
  redis.call('XADD', f[1], '*', 'event', event, 'dialect', f[2], 'room', f[3],
    'participant', participant, 'node', node, 'seq', seq, 'at', at)
  tally[1] = tally[1] + 1
end
local function unplace(r, where, np)
  if redis.call('HINCRBY', r, 'n:' .. where, -1) <= 0 then
    redis.call('HDEL', r, 'n:' .. where)
    redis.call('SREM', np .. where, r)
  end
end
local function place(r, who, where, np)
  local old = redis.call('HGET', r, 'p:' .. who)
  if old == where then return false end
  if old then unplace(r, old, np) end
  redis.call('HSET', r, 'p:' .. who, where)
  if redis.call('HINCRBY', r, 'n:' .. where, 1) == 1 then redis.call('SADD', np .. where, r) end
  return not old
end
local function remove(r, who, np)
  local old = redis.call('HGET', r, 'p:' .. who)
  if not old then return false end
  redis.call('HDEL', r, 'p:' .. who)
  unplace(r, old, np)
  return true
end
local function close(r, node, at, max, np)
  local fields = redis.call('HGETALL', r)
  for i = 1, #fields, 2 do
    local f, v = fields[i], fields[i + 1]
    local kind, rest = string.sub(f, 1, 2), string.sub(f, 3)
    if kind == 'p:' then emit(r, 'participant_left', rest, node, at, max)
    elseif kind == 'n:' then redis.call('SREM', np .. rest, r)
    elseif f == 'home' then redis.call('SREM', np .. v, r) end
  end
  emit(r, 'room_closed', '', node, at, max)
  redis.call('DEL', r)
end
";

/// Records one hook. KEYS: room, events. ARGV: kind, dialect, room name, participant (or
/// empty), its node, home, instance, continues (`1`: the room moved here from a dead home),
/// outlives (`1`/`0`), recorder, at, max waiting, nodes' prefix. Returns `{added, dropped}`.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LIB}{}",
        r"
local r, kind, inst, np = KEYS[1], ARGV[1], ARGV[7], ARGV[13]
local node, at, max = ARGV[10], ARGV[11], tonumber(ARGV[12])
local home = redis.call('HGET', r, 'home')
local current = home and redis.call('HGET', r, 'inst') == inst
if kind == 'room_created' or kind == 'participant_joined' then
  if home and not current and ARGV[8] ~= '1' then
    close(r, node, at, max, np)
    home = nil
  end
  if home and home ~= ARGV[6] then redis.call('SREM', np .. home, r) end
  redis.call('HSET', r, 'home', ARGV[6], 'inst', inst, 'outlives', ARGV[9],
    'events', KEYS[2], 'dialect', ARGV[2], 'name', ARGV[3])
  redis.call('SADD', np .. ARGV[6], r)
  if not home then emit(r, 'room_created', '', node, at, max) end
  if kind == 'participant_joined' and place(r, ARGV[4], ARGV[5], np) then
    emit(r, 'participant_joined', ARGV[4], node, at, max)
  end
elseif current and kind == 'participant_left' then
  if remove(r, ARGV[4], np) then emit(r, 'participant_left', ARGV[4], node, at, max) end
elseif current and kind == 'room_closed' then
  close(r, node, at, max, np)
end
return tally
"
    ))
});

/// Sweeps a dead node: its participants leave their rooms; the rooms homed on a dead node
/// close (those that outlive their home only once nobody is left to rebuild them). A home is
/// dead if it is this node, or has not heartbeated within the TTL. Idempotent. KEYS: none.
/// ARGV: dead node, recorder, at, max waiting, nodes' prefix, the liveness set, TTL (ms).
/// Returns `{added, dropped}`.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LIB}{}",
        r"
local dead, node, at, max, np = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local t = redis.call('TIME')
local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[7])
local function gone(home)
  if home == dead then return true end
  local score = redis.call('ZSCORE', ARGV[6], home)
  return not score or tonumber(score) < cutoff
end
for _, r in ipairs(redis.call('SMEMBERS', np .. dead)) do
  local home = redis.call('HGET', r, 'home')
  if home and gone(home) and redis.call('HGET', r, 'outlives') ~= '1' then
    close(r, node, at, max, np)
  elseif home then
    local fields, left = redis.call('HGETALL', r), 0
    for i = 1, #fields, 2 do
      local f, v = fields[i], fields[i + 1]
      if string.sub(f, 1, 2) == 'p:' then
        if v == dead then
          remove(r, string.sub(f, 3), np)
          emit(r, 'participant_left', string.sub(f, 3), node, at, max)
        else
          left = left + 1
        end
      end
    end
    if left == 0 and gone(home) then close(r, node, at, max, np) end
  end
end
redis.call('DEL', np .. dead)
return tally
"
    ))
});

/// Leads a tenant's deliveries (takes or renews its lease) and reads its oldest events.
/// KEYS: lease, events. ARGV: me, lease ms, count. Returns nil if another node leads, else
/// each event's id and field values, flat.
static LEAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local out = {}
if tonumber(ARGV[3]) > 0 then
  for _, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[3])) do
    out[#out + 1] = e[1]
    for j = 2, #e[2], 2 do out[#out + 1] = e[2][j] end
  end
end
return out
",
    )
});

/// One event delivered: deleted, if this node still leads. KEYS: lease, events. ARGV: me,
/// event id, lease ms. Returns 1, or 0 if another node leads.
static DELIVERED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XDEL', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

impl Cluster {
    fn nodes_prefix(&self) -> String {
        self.inner.keys.hook_node(&NodeId::new(""))
    }

    /// Records `hook` (which happened at `at`, ms since the epoch) in the ledger: the
    /// number of events it added, negated if some were dropped (too many waiting).
    pub(crate) async fn record_hook(&self, hook: &RoomHook, at: u64) -> Result<i64, ClusterError> {
        let keys = &self.inner.keys;
        let tenant = hook.room.tenant();
        let (participant, at_node) = match &hook.participant {
            Some((name, node)) => (name.as_str(), node.as_str()),
            None => ("", ""),
        };
        let mut inv = RECORD.prepare_invoke();
        inv.key(keys.hook_room(tenant, hook.dialect, hook.room.as_str()))
            .key(keys.hook_events(tenant));
        inv.arg(hook.kind.name())
            .arg(hook.dialect)
            .arg(hook.room.as_str())
            .arg(participant)
            .arg(at_node)
            .arg(hook.home.as_str())
            .arg(hook.instance)
            .arg(if hook.continues { "1" } else { "0" })
            .arg(if hook.outlives { "1" } else { "0" })
            .arg(self.inner.node.name())
            .arg(at)
            .arg(MAX_WAITING)
            .arg(self.nodes_prefix());
        let (added, dropped): (i64, i64) = self.invoke(inv).await?;
        Ok(if dropped > 0 { -dropped } else { added })
    }

    /// Sweeps dead node `dead` out of the ledger (at `at`): the number of events added.
    pub(crate) async fn sweep_hooks(&self, dead: &NodeId, at: u64) -> Result<i64, ClusterError> {
        let mut inv = SWEEP.prepare_invoke();
        inv.arg(dead.as_str())
            .arg(self.inner.node.name())
            .arg(at)
            .arg(MAX_WAITING)
            .arg(self.nodes_prefix())
            .arg(self.inner.keys.nodes())
            .arg(u64::try_from(self.inner.config.node_ttl.as_millis()).unwrap_or(u64::MAX));
        let (added, dropped): (i64, i64) = self.invoke(inv).await?;
        if dropped > 0 {
            log::warn!(
                "webhook ledger: sweeping {dead} dropped {dropped} events (too many waiting)"
            );
        }
        Ok(added)
    }

    /// Leads `tenant`'s deliveries: its `count` oldest events, or `None` if another node
    /// leads them.
    pub(crate) async fn lead_hooks(
        &self,
        tenant: &Tenant,
        count: usize,
    ) -> Result<Option<Vec<Entry>>, ClusterError> {
        let keys = &self.inner.keys;
        let mut inv = LEAD.prepare_invoke();
        inv.key(keys.hook_lease(tenant)).key(keys.hook_events(tenant));
        inv.arg(self.inner.node.as_str()).arg(LEASE.as_millis() as u64).arg(count);
        let Some(flat): Option<Vec<String>> = self.invoke(inv).await? else { return Ok(None) };
        if flat.len() % ENTRY_VALUES != 0 {
            log::error!("webhook ledger: events of {tenant} are not as written");
            return Err(ClusterError::Unavailable);
        }
        Ok(Some(flat.chunks_exact(ENTRY_VALUES).map(entry).collect()))
    }

    /// `tenant`'s event `id` was delivered: false if this node no longer leads its
    /// deliveries.
    pub(crate) async fn hook_delivered(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<bool, ClusterError> {
        let keys = &self.inner.keys;
        let mut inv = DELIVERED.prepare_invoke();
        inv.key(keys.hook_lease(tenant)).key(keys.hook_events(tenant));
        inv.arg(self.inner.node.as_str()).arg(id).arg(LEASE.as_millis() as u64);
        self.invoke::<i64>(inv).await.map(|kept| kept == 1)
    }
}

/// One event as read back: its id, then its fields' values in the order `emit` writes them.
fn entry(values: &[String]) -> Entry {
    let [id, event, dialect, room, participant, node, seq, at] = values else {
        unreachable!("chunks of ENTRY_VALUES")
    };
    Entry {
        id: id.clone(),
        event: event.clone(),
        dialect: dialect.clone(),
        room: room.clone(),
        participant: Some(participant.clone()).filter(|p| !p.is_empty()),
        node: node.clone(),
        seq: seq.parse().unwrap_or(0),
        at: at.parse().unwrap_or(0),
    }
}
