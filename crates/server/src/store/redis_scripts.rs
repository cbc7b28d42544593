//! The Lua scripts of the shared store (see [`super::redis`]): each runs atomically in Redis,
//! so what it checks still holds when it writes.

/// The batch script: checks every `expect`, then applies every change and publishes its note.
/// ARGV holds five fields per change: op, then up to four operands.
pub(super) const APPLY_SCRIPT: &str = r#"
local p = KEYS[1]
local n = #ARGV / 5
for i = 0, n - 1 do
  local op, a, b, c = ARGV[i*5+1], ARGV[i*5+2], ARGV[i*5+3], ARGV[i*5+4]
  if op == 'expect' then
    local cur = redis.call('GET', p .. 'room:' .. a)
    if c == '1' then
      if cur ~= b then return 'conflict:' .. a end
    elseif cur then
      return 'conflict:' .. a
    end
  end
end
local function members(json)
  local set = {}
  if json then
    for _, m in ipairs(cjson.decode(json).members) do set[m.userID] = true end
  end
  return set
end
local function forget_heard(id, old, new)
  for user in pairs(old) do
    if not new[user] then redis.call('HDEL', p .. 'heard', id .. '\n' .. user) end
  end
end
for i = 0, n - 1 do
  local op, a, b, c, d = ARGV[i*5+1], ARGV[i*5+2], ARGV[i*5+3], ARGV[i*5+4], ARGV[i*5+5]
  if op == 'put' then
    local key = p .. 'room:' .. a
    forget_heard(a, members(redis.call('GET', key)), members(b))
    redis.call('SET', key, b)
    redis.call('ZADD', p .. 'order:' .. c, d, a)
    redis.call('PUBLISH', p .. 'notes', 'R\n' .. a .. '\n' .. b)
  elseif op == 'del' then
    local key = p .. 'room:' .. a
    local old = redis.call('GET', key)
    if old then
      forget_heard(a, members(old), {})
      redis.call('DEL', key)
      redis.call('ZREM', p .. 'order:' .. cjson.decode(old).kind, a)
    end
    redis.call('SET', p .. 'gone:' .. a, b, 'EX', c)
    redis.call('PUBLISH', p .. 'notes', 'G\n' .. a .. '\n' .. b)
  elseif op == 'revoke' then
    local cur = tonumber(redis.call('HGET', p .. 'revoked', a) or '0')
    if tonumber(b) > cur then redis.call('HSET', p .. 'revoked', a, b) end
  elseif op == 'forget' then
    redis.call('HDEL', p .. 'revoked', a)
  end
end
return 'ok'
"#;

/// A heartbeat: claims the nonce (if any) and, if the room has the member, records it heard.
/// KEYS[1] is the prefix; ARGV: nonce key (or empty), its expiry (unix ms), room ID, user ID,
/// the member as the room's JSON spells it (`"userID":"…"`, unique to members), heard value.
/// The member is found by plain search, not by decoding the room: JSON escapes every quote
/// inside a value, so the needle matches a member's own field only.
pub(super) const BEAT_SCRIPT: &str = r#"
local p = KEYS[1]
if ARGV[1] ~= '' and not redis.call('SET', p .. ARGV[1], 1, 'NX', 'PXAT', ARGV[2]) then
  return 'replayed'
end
local room = redis.call('GET', p .. 'room:' .. ARGV[3])
if not room or not string.find(room, ARGV[5], 1, true) then return 'absent' end
redis.call('HSET', p .. 'heard', ARGV[3] .. '\n' .. ARGV[4], ARGV[6])
return 'heard'
"#;

/// A user's room creations, a sliding window as `crate::quota::CreationRate` keeps one: KEYS[1]
/// is the prefix; ARGV: user ID, now (unix ms), window (ms), the limit, this creation's tag.
/// Answers -1 when counted, else the ms until the oldest counted creation leaves the window.
pub(super) const CREATION_SCRIPT: &str = r#"
local k = KEYS[1] .. 'created:' .. ARGV[1]
local now, window, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', k, '-inf', now - window)
if redis.call('ZCARD', k) >= max then
  local oldest = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  return math.max(0, window - (now - tonumber(oldest[2])))
end
redis.call('ZADD', k, now, ARGV[5])
redis.call('PEXPIRE', k, window)
return -1
"#;
