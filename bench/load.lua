-- The benchmark's load: one wrk script for every scenario, chosen by BENCH_MODE.
--
-- Run by bench/bench.py as `wrk -t N -c N -s bench/load.lua URL`: one connection
-- per wrk thread, so each thread's responses come back in the order of its
-- requests and every response can be tied to the email or token it answers.
-- That is what lets the books be checked exactly: which emails were accepted
-- (302 to "check your email"), which got another answer, which got none.
--
-- Environment (set by bench.py):
--   BENCH_MODE     sign | confirm | read | mix
--   BENCH_SIGN     path of the signing form's POST (product, naive or floor)
--   BENCH_PAGE     path of the petition page;  BENCH_COUNT  path of count.json
--   BENCH_COOKIE   Cookie header (csrftoken=...);  BENCH_CSRF  csrfmiddlewaretoken
--   BENCH_TAG      letters that make this run's emails unique
--   BENCH_THREADS  wrk threads (= connections)
--   BENCH_RATE     offered requests per second in total; 0 = as fast as answered
--   BENCH_TOKENS   file of confirmation paths, one a line (confirm mode)
--   BENCH_DUP      one signature in BENCH_DUP is a duplicate (50 = 2%)
--   BENCH_OUT      where done() writes every sample and every outcome
--
-- Times come from clock_gettime(CLOCK_REALTIME) through LuaJIT's FFI, so they
-- line up with the database's timestamps and the orchestrator's clock.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end

local MODE = env("BENCH_MODE", "sign")
local SIGN = env("BENCH_SIGN", "")
local PAGE = env("BENCH_PAGE", "")
local COUNT = env("BENCH_COUNT", "")
local COOKIE = env("BENCH_COOKIE", "")
local CSRF = env("BENCH_CSRF", "")
local TAG = env("BENCH_TAG", "x")
local THREADS = tonumber(env("BENCH_THREADS", "1"))
local RATE = tonumber(env("BENCH_RATE", "0"))
local TOKENS = env("BENCH_TOKENS", "")
local DUP = tonumber(env("BENCH_DUP", "50"))
local OUT = env("BENCH_OUT", "wrk-out.txt")

-- main state: the threads, to collect their tables in done()
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  threads[#threads + 1] = thread
end

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- thread state (globals of each thread's Lua state; flat tables only, which
-- thread:get can copy)
function init(args)
  n = 0               -- requests made by this thread
  signs = 0           -- signatures attempted
  sent = {}           -- emails sent (index = signs), to pick duplicates from
  s_end, s_lat, s_status, s_kind = {}, {}, {}, {}
  ok_item, bad_item, bad_status, lost_item = {}, {}, {}, {}
  cur_kind, cur_item, cur_start = nil, nil, nil
  inflight = {}
  etags = {}
  tokens = {}
  token_next = 1
  if MODE == "confirm" then
    local i = 0
    for line in io.lines(TOKENS) do
      if line ~= "" then
        if i % THREADS == tid - 1 then tokens[#tokens + 1] = line end
        i = i + 1
      end
    end
  end
  interval = RATE > 0 and (1000.0 * THREADS / RATE) or 0
  next_at = nil
end

-- Open loop when BENCH_RATE is set: each connection sends on its own schedule
-- and latency is measured from the scheduled time (no coordinated omission).
function delay()
  if interval <= 0 then return 0 end
  local now = now_ms()
  if next_at == nil then next_at = now + interval * (tid - 1) / THREADS end
  local wait = next_at - now
  if wait < 0 then wait = 0 end
  return wait
end

local function next_email()
  signs = signs + 1
  if DUP > 0 and signs % DUP == 0 and signs > 1 then
    -- a duplicate of an earlier signature of this thread, typed differently:
    -- other case; for Gmail also dots, a +tag, the googlemail.com domain
    local j = signs - 1 - (math.floor(signs / DUP) % math.min(signs - 1, 40))
    local original = sent[j]
    local at = string.find(original, "@", 1, true)
    local localpart, domain = string.sub(original, 1, at - 1), string.sub(original, at + 1)
    local typed
    if domain == "gmail.com" then
      typed = string.upper(string.sub(localpart, 1, 1)) .. "." .. string.sub(localpart, 2)
        .. "+viral" .. signs .. "@GoogleMail.com"
    else
      typed = string.upper(localpart) .. "@" .. string.upper(domain)
    end
    sent[signs] = original
    return typed
  end
  local domain = (signs % 2 == 0) and "gmail.com" or "example.org"
  local email = string.format("s%st%dn%d@%s", TAG, tid, signs, domain)
  sent[signs] = email
  return email
end

local function sign_request()
  local email = next_email()
  local body = "csrfmiddlewaretoken=" .. urlencode(CSRF)
    .. "&name=" .. urlencode("Signer " .. tid .. " " .. signs)
    .. "&email=" .. urlencode(email)
    .. "&postal_code=53703&country=US&eligible=on"
  cur_kind, cur_item = "sign", email
  return wrk.format("POST", SIGN, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = COOKIE,
  }, body)
end

local function read_request(kind, path)
  -- a browser that has been on the page before sends its CSRF cookie
  local headers = {}
  if COOKIE ~= "" then headers["Cookie"] = COOKIE end
  local tag = etags[path]
  if tag ~= nil then
    -- a browser refreshing: revalidate what it has
    if string.sub(tag, 1, 1) == "E" then
      headers["If-None-Match"] = string.sub(tag, 2)
    else
      headers["If-Modified-Since"] = string.sub(tag, 2)
    end
    headers["Cache-Control"] = "max-age=0"
  end
  cur_kind, cur_item = kind, path
  return wrk.format("GET", path, headers)
end

function request()
  local req = make_request()
  inflight[1], inflight[2] = cur_kind, cur_item
  return req
end

-- Note: wrk calls request() once on the first thread to check the script and
-- never sends that request; it shows up as one unanswered request.
function make_request()
  if cur_item ~= nil then
    -- the previous request got no response (connection dropped): outcome unknown
    lost_item[#lost_item + 1] = cur_kind .. " " .. cur_item
  end
  n = n + 1
  if interval > 0 then
    if next_at == nil then next_at = now_ms() end
    cur_start = next_at
    next_at = next_at + interval
  else
    cur_start = now_ms()
  end
  if MODE == "sign" then
    return sign_request()
  elseif MODE == "confirm" then
    local path = tokens[token_next]
    if path == nil then
      -- every token of this thread is used: stop (this last request is a read
      -- whose answer, if any, is not recorded)
      wrk.thread:stop()
      cur_kind, cur_item = "stop", nil
      return wrk.format("GET", COUNT)
    end
    token_next = token_next + 1
    cur_kind, cur_item = "confirm", path
    local body = "csrfmiddlewaretoken=" .. urlencode(CSRF)
    return wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = COOKIE,
    }, body)
  elseif MODE == "read" then
    if n % 2 == 0 then return read_request("page", PAGE) end
    return read_request("count", COUNT)
  else -- mix: 20% signatures, 40% page, 40% count
    local slot = n % 10
    if slot == 0 or slot == 5 then return sign_request() end
    if slot % 2 == 0 then return read_request("page", PAGE) end
    return read_request("count", COUNT)
  end
end

-- A response header by name, whatever its case: HTTP/1.1 names are
-- case-insensitive, and servers differ (granian sends them in lower case).
local function header(headers, name)
  local value = headers[name]
  if value ~= nil then return value end
  local wanted = string.lower(name)
  for key, found in pairs(headers) do
    if string.lower(key) == wanted then return found end
  end
  return nil
end

function response(status, headers, body)
  local t = now_ms()
  local kind, item = cur_kind, cur_item
  cur_item = nil
  inflight[2] = nil
  if kind == "stop" then return end
  local i = #s_end + 1
  s_end[i] = t
  s_lat[i] = t - (cur_start or t)
  s_status[i] = status
  s_kind[i] = kind or "?"
  if kind == "sign" then
    local location = header(headers, "Location") or ""
    if status == 302 and string.find(location, "check-your-email", 1, true) then
      ok_item[#ok_item + 1] = item
    else
      bad_item[#bad_item + 1] = item
      bad_status[#bad_status + 1] = status
    end
  elseif kind == "confirm" then
    local location = header(headers, "Location") or ""
    if status == 302 and string.find(location, "/confirmed/", 1, true) then
      ok_item[#ok_item + 1] = item
    else
      bad_item[#bad_item + 1] = item
      bad_status[#bad_status + 1] = status
    end
  elseif kind == "page" or kind == "count" then
    if status == 200 then
      local etag = header(headers, "ETag")
      local modified = header(headers, "Last-Modified")
      if etag then etags[item] = "E" .. etag
      elseif modified then etags[item] = "M" .. modified end
    end
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(OUT, "w"))
  out:write(string.format("W %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({ 50, 90, 95, 99, 99.9 }) do
    out:write(string.format("P %s %.3f\n", p, latency:percentile(p) / 1000.0))
  end
  for _, thread in ipairs(threads) do
    local id = thread:get("tid")
    local ends, lats, statuses, kinds = thread:get("s_end"), thread:get("s_lat"),
      thread:get("s_status"), thread:get("s_kind")
    for i = 1, #ends do
      out:write(string.format("S %.3f %.3f %d %s\n", ends[i], lats[i], statuses[i], kinds[i]))
    end
    for _, item in ipairs(thread:get("ok_item")) do out:write("A " .. item .. "\n") end
    local bad, bad_st = thread:get("bad_item"), thread:get("bad_status")
    for i = 1, #bad do out:write(string.format("B %d %s\n", bad_st[i], bad[i])) end
    for _, item in ipairs(thread:get("lost_item")) do out:write("L " .. item .. "\n") end
    -- the request still in flight when wrk stopped (kept in a table: wrk's
    -- thread:get copies tables of strings reliably, lone strings not always)
    local last = thread:get("inflight")
    if last[2] ~= nil and string.match(last[2], "^[%w%p]+$") then
      out:write("L " .. last[1] .. " " .. last[2] .. "\n")
    end
    out:write(string.format("T %d %d\n", id, thread:get("n")))
  end
  out:close()
end
