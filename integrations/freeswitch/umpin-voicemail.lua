--[[
umpin in front of FreeSWITCH's voicemail (docs/pbx.md, "FreeSWITCH").

mod_voicemail compares the digits a caller types with a copy of the PIN it
keeps itself (directory vm-password, or its database) in plain text. This
script asks for the PIN instead, checks it with umpin's phone API (one failure
counter, automatic reset, expiry and lockout with every other road into
umpin), runs umpin's change dialog when the PIN must change, and only then
opens the mailbox with mod_voicemail's own check switched off:
`voicemail check auth <profile> <domain> <id>`.

Dialplan (replaces the vanilla *98 / 4000 extension):
  <extension name="vmain">
    <condition field="destination_number" expression="^\*98$">
      <action application="answer"/>
      <action application="lua" data="umpin-voicemail.lua default ${domain_name}"/>
    </condition>
  </extension>
Arguments: profile (default "default"), domain (default ${domain_name}), and
optionally the mailbox id (else the caller types it).

It needs mod_curl loaded (its `curl` API command is the HTTP client) and a
client file, mode 0600 and owned by the freeswitch user, with two lines:
  url=http://127.0.0.1:8080
  key=umpin_…        (umpin apikey add freeswitch)
at /etc/freeswitch/umpin-client.conf, or where the channel variable
umpin_client_file says.

Nothing here logs a PIN. mod_curl itself logs the POST body ("Post data: …")
at DEBUG: keep FreeSWITCH's log level above DEBUG for mod_curl (docs/pbx.md).
]]

local DEFAULT_CLIENT_FILE = "/etc/freeswitch/umpin-client.conf"
local TRIES_PER_CALL = 3        -- as mod_voicemail's max-login-attempts default
local DIGIT_TIMEOUT_MS = 6000
local MAX_PIN_DIGITS = 24       -- umpin's longest PIN
local HTTP_TIMEOUT_S = 5

local function log(level, message)
  freeswitch.consoleLog(level, "umpin-voicemail: " .. message .. "\n")
end

local function read_client_file(path)
  local file = io.open(path, "r")
  if not file then return nil, "cannot read " .. path end
  local fields = {}
  for line in file:lines() do
    local name, value = line:match("^%s*([a-z]+)%s*=%s*(.-)%s*$")
    if name and not line:match("^%s*#") then fields[name] = value end
  end
  file:close()
  if not fields.url or not fields.url:match("^https?://[^%s/]+/?$") then return nil, path .. " has no url= line" end
  if not fields.key or not fields.key:match("^[%w_%-]+$") then return nil, path .. " has no usable key= line" end
  return { url = fields.url:gsub("/$", ""), key = fields.key }
end

--- One POST to umpin's phone API through mod_curl's `curl` API command, form-encoded
--- (libcurl's default for POST data). Returns the result field, the whole body, or nil.
local function call_umpin(client, path, fields)
  local parts = {}
  for _, name in ipairs(fields) do
    -- Only digits and host names reach here (checked by the caller): nothing to percent-encode,
    -- and mod_curl URL-decodes the data before sending it.
    parts[#parts + 1] = name[1] .. "=" .. name[2]
  end
  local command = client.url .. "/tui/v1/" .. path
    .. " timeout " .. HTTP_TIMEOUT_S
    .. " append_headers 'Authorization: Bearer " .. client.key .. "'"
    .. " post " .. table.concat(parts, "&")
  local body = freeswitch.API():execute("curl", command) or ""
  local result = body:match('"result"%s*:%s*"([%w%-]+)"')
  local error_name = body:match('"error"%s*:%s*"([%w%-]+)"')
  return result, body, error_name
end

local function play(file)
  if session:ready() then session:streamFile(file) end
end

local function ask(prompt, max_digits)
  if not session:ready() then return nil end
  local digits = session:playAndGetDigits(1, max_digits, 1, DIGIT_TIMEOUT_MS, "#", prompt, "", "\\d+")
  if not session:ready() then return nil end
  return digits or ""
end

--- umpin's change dialog when the PIN must change: new PIN twice, umpin judges it (every policy rule and the history).
local function change_pin(client, id, domain, old_pin)
  for _ = 1, TRIES_PER_CALL do
    local new_pin = ask("phrase:voicemail_enter_pass:#", MAX_PIN_DIGITS)
    if new_pin == nil then return false end
    local again = ask("phrase:voicemail_enter_pass:#", MAX_PIN_DIGITS)
    if again == nil then return false end -- hung up before the second entry: nothing was changed
    if new_pin ~= "" and new_pin == again then
      local result, _, error_name = call_umpin(client, "change-pin",
        { { "mailbox", id }, { "domain", domain }, { "oldPin", old_pin }, { "newPin", new_pin } })
      if result == "ok" then
        play("phrase:voicemail_change_pass_success")
        return true
      end
      if error_name ~= "pin-policy" then
        log("WARNING", "umpin did not change the PIN (" .. (result or error_name or "no answer") .. ")")
        return false
      end
    end
    play("phrase:voicemail_change_pass_fail")
  end
  return false
end

local function main()
  local profile = argv[1] or "default"
  local domain = argv[2] or session:getVariable("domain_name") or ""
  local id = argv[3] or ""
  if not profile:match("^[%w_%-]+$") or not domain:match("^[%w%.%-]+$") then
    log("ERR", "profile or domain missing or malformed; usage: lua umpin-voicemail.lua <profile> <domain> [<id>]")
    return "error"
  end
  local client, why = read_client_file(session:getVariable("umpin_client_file") or DEFAULT_CLIENT_FILE)
  if not client then
    log("ERR", why)
    return "error"
  end
  if session:ready() then session:answer() end

  for _ = 1, TRIES_PER_CALL do
    if id == "" then
      id = ask("phrase:voicemail_enter_id:#", 20)
      if id == nil then return "hangup" end
    end
    if id:match("^%d+$") then
      local pin = ask("phrase:voicemail_enter_pass:#", MAX_PIN_DIGITS)
      if pin == nil then return "hangup" end
      if pin ~= "" then
        local result, body = call_umpin(client, "logon", { { "mailbox", id }, { "domain", domain }, { "pin", pin } })
        if result == "ok" then
          if body:match('"mustChange"%s*:%s*true') and not change_pin(client, id, domain, pin) then return "not-changed" end
          session:setVariable("umpin_result", "ok")
          -- "auth": mod_voicemail skips its own PIN check (mod_voicemail.c voicemail_function).
          session:execute("voicemail", "check auth " .. profile .. " " .. domain .. " " .. id)
          return "ok"
        elseif result == "locked-out" then
          return "locked-out"
        elseif result ~= "wrong-pin" then
          log("WARNING", "umpin could not check the PIN; refusing the caller")
          return "error"
        end
      end
    end
    play("phrase:voicemail_fail_auth")
    if argv[3] == nil then id = "" end -- ask for the mailbox again, as mod_voicemail does
  end
  return "wrong-pin"
end

local outcome = main()
if session:ready() then
  session:setVariable("umpin_result", outcome)
  if outcome ~= "ok" then
    play("phrase:voicemail_goodbye")
    session:hangup()
  end
end
