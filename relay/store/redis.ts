/**
 * The store for several relay instances: Redis (standalone, or Cluster), with the same rules as the
 * embedded stores (`records.ts`) and the same contract (`contract.ts`).
 *
 * - Every Store method is ONE Lua script (`defineCommand`), so it is atomic and there is no
 *   read-modify-write across round trips. The one exception is answerPairing on a Cluster, where the
 *   pairing and the new session live on different slots (see `answerPairing` below).
 * - Expiry is judged in the scripts against the caller's clock (`now()`, passed in as ARGV), never
 *   Redis's: records hold absolute times. Redis TTLs are only the backstop that reclaims memory: every
 *   key gets PEXPIRE (relative: purge time − now + slack, so the fake clock of the tests and clock
 *   skew between hosts cannot make Redis drop a key the relay still considers remembered).
 * - Keys carry a hash tag, so everything of one session is on one Cluster slot:
 *     <prefix>{p:<token>}            pairing  (hash: exp, ah, dev, sid, sealed, ak, _p)
 *     <prefix>{<sid>}:s              session  (hash: dev, push, seen, rseq, evs, evf, org, _p)
 *     <prefix>{<sid>}:pend           pending request ids (zset, score = request seq: oldest first)
 *     <prefix>{<sid>}:reqs           every request id of the session (zset, score = purge time)
 *     <prefix>{<sid>}:req:<id>       request  (hash: seq, sealed, sh, exp, st, resp, rh, cx, ak, _p)
 *     <prefix>{<sid>}:ev:<seq>       event    (hash: id, sealed, at, _p)
 *     <prefix>{<sid>}:evid:<id>      event id → seq (hash: seq, _p)
 *     <prefix>{o}:lockdown           operator lockdown (hash: locked, d:<deviceId>)   no TTL: never expires
 *     <prefix>stats:<YYYY-MM-DD>     a day's statistics counters (hash)   TTL: STATS_RETENTION_DAYS after the day
 *     <prefix>purge                  sweep index (zset: key → purge time)   no TTL
 *   Pairings and requests also keep their creation time in ms (`ca`, `pa`) for the statistics.
 *   `_p` is the record's purge time (ms on the caller's clock); the sweep index lets `sweep()` forget,
 *   by that clock, what Redis's own TTL has not dropped yet.
 * - `watch` is local listeners plus one pub/sub channel (`<prefix>wake`) shared by every instance:
 *   after a write commits, the writer notifies its own listeners and publishes the watch keys; each
 *   other instance's subscriber wakes its listeners. The writer hands its own listeners the new state
 *   where it has it (`WakeState`: a pairing's answer, a response), so a long-poll on the instance
 *   that took the write answers without a second round trip; other instances' listeners read. One
 *   channel that is always subscribed (rather than a channel per key, subscribed per long-poll) means
 *   no subscription race: a long-poll that registered before its read can never miss a later write.
 *   After the subscriber reconnects, every local long-poll is woken once to re-read (what was
 *   published meanwhile is lost).
 * - Any Redis failure (down, timeout, OOM, READONLY, …) rejects with StoreUnavailableError (→ 503).
 *   The client fails fast instead of queueing (no offline queue, no resend of in-flight commands: an
 *   HTTP client retries idempotently), and reconnects by itself.
 */
import { randomUUID } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import type { PushTarget } from "../../protocol/schemas.ts";
import type { Logger } from "../log.ts";
import { canonical, hash } from "./digest.ts";
import { redactRedisUrl, waitForStore } from "./reach.ts";
import {
  type AckPairingOutcome,
  type AnswerPairingOutcome,
  type CreatePairingOutcome,
  type DayStats,
  type DeleteRequestOutcome,
  type DeleteSessionOutcome,
  type Fate,
  type FetchPendingOutcome,
  type FetchRequestOutcome,
  type Lockdown,
  type PairingAnswer,
  type PostEventOutcome,
  type PostRequestOutcome,
  type PutResponseOutcome,
  type ReadEventsOutcome,
  type ReadPairingOutcome,
  type ReadResponseOutcome,
  STATS_RETENTION_DAYS,
  STORE_DEFAULTS,
  type Store,
  type StoredRequest,
  type StoreOptions,
  StoreUnavailableError,
  type WakeState,
  watchKeys,
} from "./types.ts";
import { createWatchHub } from "./watchHub.ts";

export type RedisStoreOptions = StoreOptions & {
  /**
   * `redis://[[user]:password@]host:port[/db]`, `rediss://…` (TLS), or
   * `redis-cluster://[[user]:password@]host:port,host:port,…` (`rediss-cluster://` for TLS).
   */
  url: string;
  /** Prefix of every key and of the wake-up channel (default `bb:`): several relays can share a Redis. */
  keyPrefix?: string;
  /** Connection lost/restored, subscriber errors. */
  logger?: Logger;
  /** A command without an answer after this long fails (→ 503). Default 3000 ms. */
  commandTimeoutMs?: number;
  /** Connecting (at start and on each reconnect attempt) gives up after this long. Default 2000 ms. */
  connectTimeoutMs?: number;
};

// ── Lua ────────────────────────────────────────────────────────────────────────────────────────
// Every script starts with this prelude. ARGV[1..8] are the same for all of them (clock and limits,
// so one store's options reach Redis without per-store server state); a method's own arguments
// follow, read with arg(i). Results go back as {json, notify(0|1), key, purgeAt, key, purgeAt, …}:
// the outcome, whether to wake watchers, and the purge-index updates (applied by the caller, because
// on a Cluster the index lives on another slot than the records).
const PRELUDE = `
local NOW = tonumber(ARGV[1])
local GRACE = tonumber(ARGV[2])
local IDLE = tonumber(ARGV[3])
local RETENTION = tonumber(ARGV[4])
local EVENT_MAX = tonumber(ARGV[5])
local MAX_PENDING = tonumber(ARGV[6])
local TOUCH_EVERY = tonumber(ARGV[7])
local BASE = ARGV[8]
-- Redis's TTL is a backstop only: keep a key this much longer than the caller's clock says.
local SLACK = 60000
local function arg(i) return ARGV[8 + i] end
local PURGE = {}
local NOTIFY = false

local function reply(result)
  local out = {cjson.encode(result), NOTIFY and 1 or 0}
  for i = 1, #PURGE do out[#out + 1] = PURGE[i] end
  return out
end
local function fail(code) return reply({ok = false, error = code}) end

-- Expiry times are whole unix seconds, compared with the caller's clock in ms.
local function isPast(exp) return NOW >= exp * 1000 end
-- Past the tombstone grace an entry counts as forgotten, whether or not it was purged yet.
local function forgotten(exp) return NOW >= exp * 1000 + GRACE end
local function ttlFor(p) return math.max(p - NOW, 1000) + SLACK end

local function load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- A record's purge time p (ms): stored in it, given to Redis as a TTL, reported for the sweep index.
local function purgeAt(key, p)
  if tonumber(redis.call('HGET', key, '_p')) == p then return end
  redis.call('HSET', key, '_p', p)
  redis.call('PEXPIRE', key, ttlFor(p))
  PURGE[#PURGE + 1] = key
  PURGE[#PURGE + 1] = p
end

-- The session hash (and its two indexes) outlive everything of the session, so dropping a session
-- always finds its requests and events; whether it is alive is judged by 'seen', not by this.
local function extendSession(p)
  local sk = BASE .. 's'
  local keep = math.max(p, tonumber(redis.call('HGET', sk, '_p')) or 0)
  purgeAt(sk, keep)
  redis.call('PEXPIRE', BASE .. 'pend', ttlFor(keep))
  redis.call('PEXPIRE', BASE .. 'reqs', ttlFor(keep))
end

local function liveSession()
  local s = load(BASE .. 's')
  if not s then return nil end
  s.seen = tonumber(s.seen)
  if NOW >= s.seen + IDLE then return nil end
  return s
end
-- Activity slides the idle window; without 'force' at most every TOUCH_EVERY ms (no write per poll).
local function touch(s, force)
  if not force and NOW - s.seen < TOUCH_EVERY then return end
  s.seen = NOW
  redis.call('HSET', BASE .. 's', 'seen', NOW)
  extendSession(NOW + IDLE)
end

local function reqKey(id) return BASE .. 'req:' .. id end
local function getRequest(id)
  local r = load(reqKey(id))
  if not r then return nil end
  r.exp = tonumber(r.exp)
  if forgotten(r.exp) then return nil end
  return r
end
local function isPending(r)
  return r ~= nil and not r.rh and not r.cx and not r.ak and not isPast(r.exp)
end
local function view(id, r) return {id = id, sealed = r.sealed or '', expiresAt = r.exp} end
-- Pending requests oldest first; ids that stopped being pending leave the index.
local function pendingOf()
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', BASE .. 'pend', 0, -1)) do
    local r = getRequest(id)
    if isPending(r) then out[#out + 1] = {id, r} else redis.call('ZREM', BASE .. 'pend', id) end
  end
  return out
end

local function evKey(seq) return BASE .. 'ev:' .. seq end
local function dropEvent(seq)
  local ek = evKey(seq)
  local id = redis.call('HGET', ek, 'id')
  if id then
    local ik = BASE .. 'evid:' .. id
    if tonumber(redis.call('HGET', ik, 'seq')) == seq then redis.call('DEL', ik) end
  end
  redis.call('DEL', ek)
end

local function dropSession()
  local s = load(BASE .. 's')
  for _, id in ipairs(redis.call('ZRANGE', BASE .. 'reqs', 0, -1)) do redis.call('DEL', reqKey(id)) end
  if s then
    for seq = tonumber(s.evf) or 1, tonumber(s.evs) or 0 do dropEvent(seq) end
  end
  redis.call('DEL', BASE .. 's', BASE .. 'pend', BASE .. 'reqs')
end

local function getPairing(pk)
  local p = load(pk)
  if not p then return nil end
  p.exp = tonumber(p.exp)
  if forgotten(p.exp) then return nil end
  return p
end
-- Whether an answer (hash ah) may be stored: nil = go ahead, 'repeated', or an error code.
local function pairingCheck(pk, ah)
  local p = getPairing(pk)
  if not p then return 'pairing_not_found' end
  if isPast(p.exp) then return 'pairing_expired' end
  if p.ah then
    if p.ah == ah then return 'repeated' end
    return 'pairing_answered'
  end
  -- Acknowledged (cancelled by the extension) before any answer: forgotten.
  if p.ak then return 'pairing_not_found' end
  return nil
end
-- Creates the session of an answer; 'org' marks which answer created it (a retried Cluster step
-- finds its own session instead of session_exists).
local function sessionCreate(org, dev, push)
  local s = liveSession()
  if s then
    if s.org == org then return nil end
    return 'session_exists'
  end
  -- An idle-expired session not purged yet, or stale indexes: clear them first.
  dropSession()
  local sk = BASE .. 's'
  redis.call('HSET', sk, 'dev', dev, 'seen', NOW, 'rseq', 0, 'evs', 0, 'evf', 1, 'org', org)
  if push ~= '' then redis.call('HSET', sk, 'push', push) end
  extendSession(NOW + IDLE)
  return nil
end
-- Stores the answer; the outcome of a first answer carries the pairing's creation time (ms).
local function pairingCommit(pk, ah, dev, sid, sealed)
  redis.call('HSET', pk, 'ah', ah, 'dev', dev, 'sid', sid, 'sealed', sealed)
  NOTIFY = true
  -- expiresAt: for the state handed to this instance's long-polls (WakeState), not the answer.
  local kept = redis.call('HMGET', pk, 'ca', 'exp')
  return reply({ok = true, repeated = false, createdMs = tonumber(kept[1]), expiresAt = tonumber(kept[2])})
end
`;

/** Method scripts (after the prelude). KEYS[1] is the record the script is routed by. */
const SCRIPTS = {
  createPairing: `
local pk = KEYS[1]
if getPairing(pk) then return fail('pairing_exists') end
local exp = math.ceil(NOW / 1000) + tonumber(arg(1))
redis.call('DEL', pk) -- a forgotten one the sweeper has not reached
redis.call('HSET', pk, 'exp', exp, 'ca', NOW)
purgeAt(pk, exp * 1000 + GRACE)
return reply({ok = true, expiresAt = exp})`,

  // Standalone Redis: answer and session in one atomic step. KEYS[2] (the session) is declared for
  // correctness of the key list only; the script works from BASE.
  answerPairing: `
local pk = KEYS[1]
local why = pairingCheck(pk, arg(1))
if why == 'repeated' then return reply({ok = true, repeated = true}) end
if why then return fail(why) end
why = sessionCreate(arg(2), arg(3), arg(6))
if why then return fail(why) end
return pairingCommit(pk, arg(1), arg(3), arg(4), arg(5))`,

  // Cluster steps of answerPairing (see the method).
  pairCheck: `
local why = pairingCheck(KEYS[1], arg(1))
if why == 'repeated' then return reply({ok = true, repeated = true}) end
if why then return fail(why) end
return reply({ok = true, go = true})`,
  pairSession: `
local why = sessionCreate(arg(1), arg(2), arg(3))
if why then return fail(why) end
return reply({ok = true})`,
  pairCommit: `
local pk = KEYS[1]
local why = pairingCheck(pk, arg(1))
if why == 'repeated' then return reply({ok = true, repeated = true}) end
if why then return fail(why) end
return pairingCommit(pk, arg(1), arg(2), arg(3), arg(4))`,
  pairUndo: `
local s = load(BASE .. 's')
if s and s.org == arg(1) then dropSession() end
return reply({ok = true})`,

  readPairing: `
local p = getPairing(KEYS[1])
if not p or p.ak then return fail('pairing_not_found') end
if isPast(p.exp) then return fail('pairing_expired') end
if p.sealed then
  return reply({ok = true, expiresAt = p.exp, answer = {deviceId = p.dev, sessionId = p.sid, sealed = p.sealed}})
end
return reply({ok = true, expiresAt = p.exp})`,

  ackPairing: `
local pk = KEYS[1]
local p = getPairing(pk)
if not p or p.ak then return fail('pairing_not_found') end
if isPast(p.exp) then return fail('pairing_expired') end
-- Forget the answer; the token stays reserved (and the answer hash recognises a late retry).
redis.call('HDEL', pk, 'dev', 'sid', 'sealed')
redis.call('HSET', pk, 'ak', 1)
NOTIFY = true
return reply({ok = true, answered = p.ah ~= nil})`,

  deleteSession: `
if not liveSession() then return fail('session_not_found') end
dropSession()
NOTIFY = true
return reply({ok = true})`,

  postRequest: `
local s = liveSession()
if not s then return fail('session_not_found') end
local id, sealed, sh = arg(1), arg(2), arg(3)
local r = getRequest(id)
if r then
  if r.sh ~= sh then return fail('request_conflict') end
  if isPast(r.exp) then return fail('request_expired') end
  touch(s, false)
  return reply({ok = true, created = false, expiresAt = r.exp})
end
if #pendingOf() >= MAX_PENDING then return fail('too_many_pending') end
local seq = tonumber(s.rseq) + 1
local exp = math.ceil(NOW / 1000) + tonumber(arg(4))
local p = exp * 1000 + GRACE
local rk = reqKey(id)
redis.call('DEL', rk)
redis.call('HSET', rk, 'seq', seq, 'pa', NOW, 'sealed', sealed, 'sh', sh, 'exp', exp, 'st', 'queued')
purgeAt(rk, p)
redis.call('ZADD', BASE .. 'pend', seq, id)
redis.call('ZADD', BASE .. 'reqs', p, id)
-- Index entries of requests past their purge time: those are forgotten (and swept) anyway.
redis.call('ZREMRANGEBYSCORE', BASE .. 'reqs', '-inf', NOW)
redis.call('HSET', BASE .. 's', 'rseq', seq)
touch(s, true)
extendSession(p)
NOTIFY = true
local out = {ok = true, created = true, expiresAt = exp}
if s.push then out.push = s.push end
return reply(out)`,

  fetchRequest: `
local s = liveSession()
if not s then return fail('session_not_found') end
touch(s, false)
local id = arg(1)
local r = getRequest(id)
if not r or r.ak then return fail('request_not_found') end
if isPast(r.exp) then return fail('request_expired') end
if r.cx then return fail('request_cancelled') end
if not r.rh and r.st ~= 'fetched' then redis.call('HSET', reqKey(id), 'st', 'fetched') end
return reply({ok = true, request = view(id, r)})`,

  fetchPending: `
local s = liveSession()
if not s then return fail('session_not_found') end
local list, fresh = {}, 0
for _, e in ipairs(pendingOf()) do
  local id, r = e[1], e[2]
  if r.st ~= 'fetched' then
    fresh = fresh + 1
    redis.call('HSET', reqKey(id), 'st', 'fetched')
  end
  list[#list + 1] = view(id, r)
end
touch(s, false)
return reply({ok = true, requests = list, fresh = fresh})`,

  markNotified: `
if not liveSession() then return reply(false) end
local id = arg(1)
local r = getRequest(id)
if not isPending(r) or r.st ~= 'queued' then return reply(false) end
redis.call('HSET', reqKey(id), 'st', 'notified')
return reply(true)`,

  putResponse: `
local s = liveSession()
if not s then return fail('session_not_found') end
touch(s, false)
local id, sealed, rh = arg(1), arg(2), arg(3)
local r = getRequest(id)
if not r then return fail('request_not_found') end
if r.rh then
  if r.rh == rh then return reply({ok = true, repeated = true}) end
  return fail('request_answered')
end
if r.ak then return fail('request_not_found') end
if isPast(r.exp) then return fail('request_expired') end
if r.cx then return fail('request_cancelled') end
redis.call('HSET', reqKey(id), 'resp', sealed, 'rh', rh)
redis.call('ZREM', BASE .. 'pend', id)
NOTIFY = true
return reply({ok = true, repeated = false, postedMs = tonumber(r.pa)})`,

  readResponse: `
local s = liveSession()
if not s then return fail('session_not_found') end
touch(s, false)
local r = getRequest(arg(1))
if not r or r.ak then return fail('request_not_found') end
-- A response that landed in time is delivered even after expiry (until purged).
if r.resp then return reply({ok = true, sealed = r.resp}) end
if isPast(r.exp) then return fail('request_expired') end
if r.cx then return fail('request_cancelled') end
return reply({ok = true, status = r.st})`,

  deleteRequest: `
local s = liveSession()
if not s then return fail('session_not_found') end
touch(s, false)
local id = arg(1)
local r = getRequest(id)
if not r or r.ak then return fail('request_not_found') end
local rk = reqKey(id)
if r.resp then
  -- Acknowledge: forget both payloads; the hashes keep late retries idempotent.
  redis.call('HDEL', rk, 'sealed', 'resp')
  redis.call('HSET', rk, 'ak', 1)
  redis.call('ZREM', BASE .. 'pend', id)
  NOTIFY = true
  return reply({ok = true, action = 'acknowledged'})
end
if isPast(r.exp) then return fail('request_expired') end
if r.cx then return reply({ok = true, action = 'cancelled'}) end
redis.call('HDEL', rk, 'sealed')
redis.call('HSET', rk, 'cx', 1)
redis.call('ZREM', BASE .. 'pend', id)
NOTIFY = true
return reply({ok = true, action = 'cancelled'})`,

  postEvent: `
local s = liveSession()
if not s then return fail('session_not_found') end
local id, sealed = arg(1), arg(2)
local ik = BASE .. 'evid:' .. id
local known = tonumber(redis.call('HGET', ik, 'seq'))
if known then
  local ev = load(evKey(known))
  if ev and ev.id == id and tonumber(ev.at) + RETENTION > NOW then
    if ev.sealed ~= sealed then return fail('event_conflict') end
    touch(s, false)
    return reply({ok = true, created = false, seq = known})
  end
end
local seq = tonumber(s.evs) + 1
local ek = evKey(seq)
local p = NOW + RETENTION
redis.call('DEL', ek, ik)
redis.call('HSET', ek, 'id', id, 'sealed', sealed, 'at', NOW)
purgeAt(ek, p)
redis.call('HSET', ik, 'seq', seq)
purgeAt(ik, p)
-- Retention: keep the newest EVENT_MAX, and none older than RETENTION.
local first = tonumber(s.evf)
while first <= seq - EVENT_MAX do
  dropEvent(first)
  first = first + 1
end
while first < seq do
  local at = tonumber(redis.call('HGET', evKey(first), 'at'))
  if at and at + RETENTION > NOW then break end
  dropEvent(first)
  first = first + 1
end
redis.call('HSET', BASE .. 's', 'evs', seq, 'evf', first)
touch(s, true)
extendSession(p)
NOTIFY = true
return reply({ok = true, created = true, seq = seq})`,

  readEvents: `
local s = liveSession()
if not s then return fail('session_not_found') end
local list = {}
local limit = tonumber(arg(2))
for seq = math.max(tonumber(arg(1)) + 1, tonumber(s.evf)), tonumber(s.evs) do
  if #list >= limit then break end
  local ev = load(evKey(seq))
  if ev and tonumber(ev.at) + RETENTION > NOW then
    list[#list + 1] = {seq = seq, id = ev.id, sealed = ev.sealed}
  end
end
touch(s, false)
return reply({ok = true, events = list})`,

  dropPush: `
local s = liveSession()
if not s or s.push ~= arg(1) then return reply(false) end
redis.call('HDEL', BASE .. 's', 'push')
return reply(true)`,

  sessionDevice: `
local s = liveSession()
if not s then return reply({}) end
return reply({deviceId = s.dev})`,

  pairingFate: `
local p = getPairing(KEYS[1])
if not p then return reply('unknown') end
if p.ah then return reply('answered') end
if p.ak then return reply('cancelled') end
if isPast(p.exp) then return reply('expired') end
return reply('pending')`,

  requestFate: `
if not liveSession() then return reply('unknown') end
local r = getRequest(arg(1))
if not r then return reply('unknown') end
if r.rh then return reply('answered') end
if r.cx then return reply('cancelled') end
if isPast(r.exp) then return reply('expired') end
return reply('pending')`,

  // Sweep one indexed key: deleted when its purge time has passed (0), else its purge time, or -1
  // when it is already gone. A session hash takes its two indexes along.
  sweepKey: `
local key = KEYS[1]
local p = tonumber(redis.call('HGET', key, '_p'))
if not p then return reply(-1) end
if p > NOW then return reply(p) end
redis.call('DEL', key)
if string.sub(key, -3) == '}:s' then
  local base = string.sub(key, 1, -2)
  redis.call('DEL', base .. 'pend', base .. 'reqs')
end
return reply(0)`,
} as const;

type ScriptName = keyof typeof SCRIPTS;
/** Keys each script declares (the rest it reaches through BASE, on the same slot). */
const KEY_COUNT: Record<ScriptName, number> = {
  createPairing: 1,
  answerPairing: 2,
  pairCheck: 1,
  pairSession: 1,
  pairCommit: 1,
  pairUndo: 1,
  readPairing: 1,
  ackPairing: 1,
  deleteSession: 1,
  postRequest: 1,
  fetchRequest: 1,
  fetchPending: 1,
  markNotified: 1,
  putResponse: 1,
  readResponse: 1,
  deleteRequest: 1,
  postEvent: 1,
  readEvents: 1,
  dropPush: 1,
  sessionDevice: 1,
  pairingFate: 1,
  requestFate: 1,
  sweepKey: 1,
};
/** Drops sweep-index entries that are still due (another instance may have re-indexed one meanwhile). */
const UNINDEX = `
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0`;

type Arg = string | number;
type Client = Redis | Cluster;
type ScriptFn = (...args: Arg[]) => Promise<unknown>;

const SWEEP_BATCH = 500;
const SWEEP_BUDGET_MS = 5_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Connection settings shared by standalone and Cluster nodes: fail fast, reconnect forever. */
function connectionOptions(o: RedisStoreOptions) {
  return {
    // While disconnected a command fails at once (→ 503) instead of waiting in a queue.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail on the first reconnect attempt and are not
    // resent: whether they ran is unknown, and the HTTP client retries them idempotently.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: o.connectTimeoutMs ?? 2000,
    commandTimeout: o.commandTimeoutMs ?? 3000,
    // Reconnect forever, quickly at first, then once a second.
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1000),
    connectionName: "balance-bridge-relay",
  };
}

type Credentials = { username?: string; password?: string };
/** `redis-cluster://[user:pass@]h1:p1,h2:p2` → startup nodes and credentials. */
function parseClusterUrl(url: string): { nodes: { host: string; port: number }[]; auth: Credentials } {
  const rest = url.replace(/^rediss?-cluster:\/\//, "");
  const at = rest.lastIndexOf("@");
  const auth: Credentials = {};
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(":");
    const user = decodeURIComponent(colon === -1 ? "" : credentials.slice(0, colon));
    const password = decodeURIComponent(colon === -1 ? credentials : credentials.slice(colon + 1));
    if (user) auth.username = user;
    if (password) auth.password = password;
  }
  const hosts = (at === -1 ? rest : rest.slice(at + 1)).replace(/\/.*$/, "");
  const nodes = hosts
    .split(",")
    .filter(Boolean)
    .map((hostPort) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
      if (!m?.[1]) throw new Error(`bad Redis Cluster node "${hostPort}"`);
      return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2] ?? 6379) };
    });
  if (nodes.length === 0) throw new Error("a redis-cluster:// URL needs at least one host:port");
  return { nodes, auth };
}

function createClient(o: RedisStoreOptions): { client: Client; sub: Client; cluster: boolean } {
  const base = connectionOptions(o);
  if (/^rediss?-cluster:/.test(o.url)) {
    const { nodes, auth } = parseClusterUrl(o.url);
    // Per node; the Cluster client does its own queueing and reconnecting.
    const { enableOfflineQueue: _e, retryStrategy: _r, ...perNode } = base;
    const client = new Cluster(nodes, {
      enableOfflineQueue: false,
      enableReadyCheck: true,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
      slotsRefreshTimeout: 2000,
      redisOptions: { ...perNode, ...auth, ...(o.url.startsWith("rediss") ? { tls: {} } : {}) },
    });
    // The subscriber needs its own connection (a subscribed connection serves nothing else).
    return { client, sub: client.duplicate(), cluster: true };
  }
  const client = new Redis(o.url, base);
  return { client, sub: client.duplicate(), cluster: false };
}

/**
 * Opens the Redis store and waits until it answers (both connections: commands and wake-ups), or
 * closes it and rejects with StoreUnavailableError after `waitMs` (default 5 s): a relay with a wrong
 * URL fails at start instead of answering 503 forever.
 */
export async function openRedisStore(options: RedisStoreOptions, waitMs = 5000): Promise<Store> {
  const store = createRedisStore(options);
  await waitForStore(store, waitMs, redactRedisUrl(options.url));
  return store;
}

/**
 * The Redis store, connecting in the background (and reconnecting forever): until Redis answers,
 * every method rejects with StoreUnavailableError. `openRedisStore` waits for the first connection.
 */
export function createRedisStore(options: RedisStoreOptions): Store {
  const now = options.now ?? Date.now;
  const idleTtl = options.sessionIdleTtl ?? STORE_DEFAULTS.sessionIdleTtl;
  const grace = options.tombstoneGrace ?? STORE_DEFAULTS.tombstoneGrace;
  const retention = options.eventRetention ?? STORE_DEFAULTS.eventRetention;
  const eventMax = options.eventMax ?? STORE_DEFAULTS.eventMax;
  const maxPending = options.maxPendingPerSession ?? STORE_DEFAULTS.maxPendingPerSession;
  // Same sliding rule as records.ts: refresh lastSeen at most this often (ms).
  const touchEvery = Math.round(Math.min(60, idleTtl / 10) * 1000);
  const prefix = options.keyPrefix ?? "bb:";
  const logger = options.logger;
  const channel = `${prefix}wake`;
  const indexKey = `${prefix}purge`;
  /** Tags this instance's wake-ups so it does not wake its own listeners twice. */
  const instance = randomUUID();

  const { client, sub, cluster } = createClient(options);
  const label = redactRedisUrl(options.url);
  const hub = createWatchHub((error) => logger?.error({ err: error }, "watch listener failed"));
  /** Keys with local listeners: all of them are woken after the subscriber reconnects. */
  const watched = new Map<string, number>();
  let closed = false;

  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(`bb_${name}`, { lua: PRELUDE + lua, numberOfKeys: KEY_COUNT[name as ScriptName] });
  }
  client.defineCommand("bb_unindex", { lua: UNINDEX, numberOfKeys: 1 });
  const scripts = client as unknown as Record<string, ScriptFn>;

  // Without a listener ioredis prints every connection error; log state changes once instead.
  let down = false;
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    lastError = error;
    if (!down && !closed) logger?.warn({ err: error, redis: label }, "redis connection error");
    down = true;
  });
  client.on("ready", () => {
    if (down) logger?.info({ redis: label }, "redis connection restored");
    down = false;
  });
  sub.on("error", () => {});

  sub.on("message", (ch: string, message: string) => {
    if (ch !== channel) return;
    const [from, ...keys] = message.split(" ");
    if (from !== instance) hub.notify(keys);
  });
  /** True while the subscriber listens: without it this instance's long-polls miss other instances' writes. */
  let subscribed = false;
  sub.on("ready", () => {
    if (closed) return;
    // Subscribe on every (re)connection. Wake-ups published while the subscriber was away are lost,
    // so once it listens again wake every local long-poll to re-read (harmless if nothing changed).
    sub
      .subscribe(channel)
      .then(() => {
        subscribed = true;
        hub.notify([...watched.keys()]);
      })
      .catch(() => {});
  });
  sub.on("close", () => {
    subscribed = false;
  });

  const common = () => [
    Math.floor(now()),
    grace * 1000,
    idleTtl * 1000,
    retention * 1000,
    eventMax,
    maxPending,
    touchEvery,
  ];

  function unavailable(error: unknown): never {
    if (error instanceof StoreUnavailableError) throw error;
    // Disconnected, a command fails with "Stream isn't writeable…": say why the connection is down.
    const why =
      client.status === "ready"
        ? error instanceof Error
          ? error.message
          : String(error)
        : `not connected (${client.status}${lastError ? `: ${lastError.message}` : ""})`;
    throw new StoreUnavailableError(`redis ${why}`, { cause: error });
  }
  function guard(): void {
    if (closed) throw new StoreUnavailableError("store is closed");
  }

  /**
   * The commands of one event-loop turn leave in one socket write: the connection is corked at the
   * first and uncorked when the turn ends (`setImmediate`, after every request read in the turn).
   * Without it each command is its own write(2), and on this loopback those writes were the relay's
   * largest cost (≈ 28 % of its CPU under create-pairing load; docs/BENCHMARKS.md, "Redis: one write
   * per turn"). Order is kept: every write goes through the same stream, corked or not. A Cluster
   * client's commands go to several nodes' connections and are written as they come.
   */
  let corked = false;
  function batched(): void {
    if (corked || cluster) return;
    const redis = client as Redis;
    const stream = redis.stream;
    if (!stream || redis.status !== "ready") return;
    stream.cork();
    corked = true;
    setImmediate(() => {
      corked = false;
      stream.uncork();
    });
  }

  /**
   * Wakes local listeners now (with the write's new state when it has one: they answer without a
   * read) and the other instances through pub/sub (a lost publish only delays a poll; they read).
   */
  function wake(keys: string[], state: WakeState | undefined): void {
    hub.notify(keys, state);
    batched();
    client.publish(channel, `${instance} ${keys.join(" ")}`).catch(() => {});
  }

  /**
   * Runs one script: KEYS, then the shared ARGV (clock, limits, `base` of the session), then the
   * method's arguments. Wakes `notify` when the script says it changed something, and hands the purge
   * updates to the sweep index.
   */
  async function run<T>(
    name: ScriptName,
    keys: string[],
    base: string,
    args: Arg[],
    notify: string[] = [],
    /** The state a write hands to the local watchers of its one `notify` key (`WakeState`). */
    wakeWith?: (out: T) => WakeState | undefined,
  ): Promise<T> {
    guard();
    let out: unknown;
    try {
      const fn = scripts[`bb_${name}`];
      if (!fn) throw new Error(`script ${name} is not defined`);
      batched();
      out = await fn.call(client, ...keys, ...common(), base, ...args);
    } catch (error) {
      unavailable(error);
    }
    if (!Array.isArray(out) || typeof out[0] !== "string") unavailable(new Error(`bad reply from ${name}`));
    const [json, changed, ...purges] = out as [string, number, ...Arg[]];
    if (purges.length > 0) {
      const scored: Arg[] = [];
      for (let i = 0; i + 1 < purges.length; i += 2) scored.push(purges[i + 1] as Arg, purges[i] as Arg);
      // The index only speeds up forgetting; if this is lost, Redis's TTL still reclaims the key.
      batched();
      client.zadd(indexKey, ...scored).catch(() => {});
    }
    const result = JSON.parse(json) as T;
    if (Number(changed) === 1 && notify.length > 0) wake(notify, wakeWith?.(result));
    return result;
  }

  const pairingKey = (token: string) => `${prefix}{p:${token}}`;
  const lockdownKey = `${prefix}{o}:lockdown`;
  const sessionBase = (sid: string) => `${prefix}{${sid}}:`;
  const session = (sid: string) => {
    const base = sessionBase(sid);
    return { base, keys: [`${base}s`] };
  };
  type Answered =
    | AnswerPairingOutcome
    | { ok: true; repeated: boolean; createdMs?: number; expiresAt?: number };
  /** The creation time leaves Lua in ms (exact), the interface has seconds; expiresAt is the wake-up's. */
  const answered = (out: Answered): AnswerPairingOutcome => {
    if (!out.ok || !("createdMs" in out || "expiresAt" in out)) return out as AnswerPairingOutcome;
    const { createdMs, expiresAt: _, ...rest } = out;
    return createdMs === undefined ? rest : { ...rest, createdAt: createdMs / 1000 };
  };
  /** What readPairing returns right after a first answer: handed to this instance's long-polls. */
  const pairingWake =
    (answer: PairingAnswer) =>
    (out: Answered): WakeState | undefined =>
      out.ok && !out.repeated && "expiresAt" in out && out.expiresAt !== undefined
        ? { kind: "pairing", outcome: { ok: true, expiresAt: out.expiresAt, answer } }
        : undefined;
  /** cjson writes an empty Lua table as `{}`: make list fields arrays again. */
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

  const store: Store = {
    kind: cluster ? "redis-cluster" : "redis",

    createPairing(token, ttl) {
      return run<CreatePairingOutcome>("createPairing", [pairingKey(token)], "", [ttl]);
    },

    async answerPairing(token, answer, push) {
      const pk = pairingKey(token);
      const { base, keys } = session(answer.sessionId);
      const ah = hash(answer.deviceId, answer.sessionId, answer.sealed);
      const org = hash(token, ah);
      const pushJson = push ? canonical(push) : "";
      const notify = [watchKeys.pairing(token)];
      const kept = { deviceId: answer.deviceId, sessionId: answer.sessionId, sealed: answer.sealed };
      if (!cluster) {
        return answered(
          await run<Answered>(
            "answerPairing",
            [pk, ...keys],
            base,
            [ah, org, answer.deviceId, answer.sessionId, answer.sealed, pushJson],
            notify,
            pairingWake(kept),
          ),
        );
      }
      // Cluster: the pairing and the session are on different slots, and no script may span two. So:
      // check the pairing, create the session (marked with `org`, so a retry finds its own), then
      // commit the answer with a compare-and-set; if the pairing changed in between (another answer,
      // expiry, cancel), undo the session. A crash between steps leaves at most an unused session that
      // idles out; the wallet's retried PUT completes it.
      const checked = await run<Answered & { go?: true }>("pairCheck", [pk], "", [ah]);
      if (!checked.ok || !checked.go) return answered(checked);
      const created = await run<{ ok: true } | { ok: false; error: "session_exists" }>(
        "pairSession",
        keys,
        base,
        [org, answer.deviceId, pushJson],
      );
      if (!created.ok) return created;
      const committed = await run<Answered>(
        "pairCommit",
        [pk],
        "",
        [ah, answer.deviceId, answer.sessionId, answer.sealed],
        notify,
        pairingWake(kept),
      );
      if (!committed.ok) await run("pairUndo", keys, base, [org]);
      return answered(committed);
    },

    readPairing(token) {
      return run<ReadPairingOutcome>("readPairing", [pairingKey(token)], "", []);
    },

    ackPairing(token) {
      return run<AckPairingOutcome>("ackPairing", [pairingKey(token)], "", [], [watchKeys.pairing(token)]);
    },

    deleteSession(sid) {
      const { base, keys } = session(sid);
      return run<DeleteSessionOutcome>("deleteSession", keys, base, [], [watchKeys.session(sid)]);
    },

    async postRequest(sid, { id, sealed, ttl }) {
      const { base, keys } = session(sid);
      const out = await run<PostRequestOutcome | { ok: true; push?: string }>(
        "postRequest",
        keys,
        base,
        [id, sealed, hash(sealed), ttl],
        [watchKeys.requests(sid)],
      );
      if (out.ok && typeof out.push === "string") {
        return { ...out, push: JSON.parse(out.push) as PushTarget } as PostRequestOutcome;
      }
      return out as PostRequestOutcome;
    },

    fetchRequest(sid, id) {
      const { base, keys } = session(sid);
      return run<FetchRequestOutcome>("fetchRequest", keys, base, [id]);
    },

    async fetchPending(sid) {
      const { base, keys } = session(sid);
      const out = await run<FetchPendingOutcome>("fetchPending", keys, base, []);
      return out.ok ? { ...out, requests: list<StoredRequest>(out.requests) } : out;
    },

    markNotified(sid, id) {
      const { base, keys } = session(sid);
      return run<boolean>("markNotified", keys, base, [id]);
    },

    async putResponse(sid, id, sealed) {
      const { base, keys } = session(sid);
      const out = await run<PutResponseOutcome | { ok: true; repeated: boolean; postedMs?: number }>(
        "putResponse",
        keys,
        base,
        [id, sealed, hash(sealed)],
        [watchKeys.request(sid, id)],
        (o) => (o.ok && !o.repeated ? { kind: "response", outcome: { ok: true, sealed } } : undefined),
      );
      if (!out.ok || !("postedMs" in out)) return out as PutResponseOutcome;
      const { postedMs, ...rest } = out;
      return postedMs === undefined ? rest : { ...rest, postedAt: postedMs / 1000 };
    },

    readResponse(sid, id) {
      const { base, keys } = session(sid);
      return run<ReadResponseOutcome>("readResponse", keys, base, [id]);
    },

    deleteRequest(sid, id) {
      const { base, keys } = session(sid);
      return run<DeleteRequestOutcome>("deleteRequest", keys, base, [id], [watchKeys.request(sid, id)]);
    },

    postEvent(sid, { id, sealed }) {
      const { base, keys } = session(sid);
      return run<PostEventOutcome>("postEvent", keys, base, [id, sealed], [watchKeys.events(sid)]);
    },

    async readEvents(sid, after, limit) {
      const { base, keys } = session(sid);
      const out = await run<ReadEventsOutcome>("readEvents", keys, base, [after, limit]);
      return out.ok ? { ok: true, events: list(out.events) } : out;
    },

    dropPush(sid, target) {
      const { base, keys } = session(sid);
      return run<boolean>("dropPush", keys, base, [canonical(target)]);
    },

    async sessionDevice(sid) {
      const { base, keys } = session(sid);
      return (await run<{ deviceId?: string }>("sessionDevice", keys, base, [])).deviceId;
    },

    async readLockdown() {
      guard();
      let fields: Record<string, string>;
      try {
        fields = await client.hgetall(lockdownKey);
      } catch (error) {
        unavailable(error);
      }
      const blockedDevices = Object.keys(fields)
        .filter((f) => f.startsWith("d:"))
        .map((f) => f.slice(2))
        .sort();
      return { pairingsLocked: fields.locked === "1", blockedDevices } satisfies Lockdown;
    },

    async lockPairings(locked) {
      guard();
      try {
        await client.hset(lockdownKey, "locked", locked ? "1" : "0");
      } catch (error) {
        unavailable(error);
      }
    },

    async blockDevice(deviceId, blocked) {
      guard();
      try {
        // HSETNX / HDEL answer whether they changed anything: one atomic command each.
        const changed = blocked
          ? await client.hsetnx(lockdownKey, `d:${deviceId}`, "1")
          : await client.hdel(lockdownKey, `d:${deviceId}`);
        return changed > 0;
      } catch (error) {
        unavailable(error);
      }
    },

    async recordStats(day, counters) {
      if (!DAY_RE.test(day)) throw new TypeError(`recordStats: day must be YYYY-MM-DD, got "${day}"`);
      const entries = Object.entries(counters).filter(([, n]) => Number.isFinite(n) && n !== 0);
      if (entries.length === 0) return;
      guard();
      const key = `${prefix}stats:${day}`;
      const keepUntil =
        (Date.parse(`${day}T00:00:00Z`) / 1000 + 86_400 + STATS_RETENTION_DAYS * 86_400) * 1000;
      // One MULTI on one key: every counter of the call lands together (HINCRBYFLOAT: counters may be
      // fractional), and Redis forgets the day on its own once it is old enough.
      const tx = client.multi();
      for (const [name, n] of entries) tx.hincrbyfloat(key, name, n);
      tx.pexpire(key, Math.max(keepUntil - now(), 86_400_000));
      let results: [Error | null, unknown][] | null;
      try {
        results = await tx.exec();
      } catch (error) {
        unavailable(error);
      }
      const failed = results?.find(([error]) => error);
      if (!results || failed) unavailable(failed?.[0] ?? new Error("statistics transaction aborted"));
    },

    async readStats(day) {
      guard();
      let fields: Record<string, string>;
      try {
        fields = await client.hgetall(`${prefix}stats:${day}`);
      } catch (error) {
        unavailable(error);
      }
      const stats: DayStats = {};
      for (const [name, value] of Object.entries(fields)) stats[name] = Number(value);
      return stats;
    },

    pairingFate(token) {
      return run<Fate>("pairingFate", [pairingKey(token)], "", []);
    },

    requestFate(sid, id) {
      const { base, keys } = session(sid);
      return run<Fate>("requestFate", keys, base, [id]);
    },

    watch(key, listener) {
      watched.set(key, (watched.get(key) ?? 0) + 1);
      const unwatch = hub.watch(key, listener);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        unwatch();
        const n = (watched.get(key) ?? 1) - 1;
        if (n <= 0) watched.delete(key);
        else watched.set(key, n);
      };
    },

    async sweep() {
      guard();
      let removed = 0;
      try {
        // A time budget, not a fixed count: a backlog drains over a few sweeps without one of them
        // holding on for long; the next sweep continues where this one stopped.
        const started = Date.now();
        while (Date.now() - started < SWEEP_BUDGET_MS) {
          const t = Math.floor(now());
          const due = await client.zrangebyscore(indexKey, "-inf", t, "LIMIT", 0, SWEEP_BATCH);
          if (due.length === 0) break;
          const results = await Promise.all(due.map((key) => run<number>("sweepKey", [key], "", [])));
          const rescore: Arg[] = [];
          const gone: string[] = [];
          results.forEach((r, i) => {
            const key = due[i] as string;
            if (r > 0) rescore.push(r, key);
            else {
              gone.push(key);
              if (r === 0) removed++;
            }
          });
          if (rescore.length > 0) await client.zadd(indexKey, ...rescore);
          if (gone.length > 0) await (scripts.bb_unindex as ScriptFn).call(client, indexKey, t, ...gone);
          if (due.length < SWEEP_BATCH) break;
        }
      } catch (error) {
        unavailable(error);
      }
      return removed;
    },

    async ping() {
      guard();
      try {
        await client.ping();
      } catch (error) {
        unavailable(error);
      }
      // Without the subscriber, long-polls on this instance would miss other instances' writes.
      if (!subscribed) throw new StoreUnavailableError("redis pub/sub connection is down");
    },

    async close() {
      if (closed) return;
      closed = true;
      const quit = (c: Client) =>
        Promise.race([c.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]).finally(
          () => c.disconnect(),
        );
      await Promise.all([quit(sub), quit(client)]);
    },
  };
  return store;
}
