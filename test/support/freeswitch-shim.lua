--[[
A SHIM of FreeSWITCH's mod_lua environment, for tests only — NOT FreeSWITCH
(no FreeSWITCH package exists for this machine). It stands in for:

- `session` (switch_cpp.cpp CoreSession): answer, ready, playAndGetDigits,
  streamFile, execute, getVariable, setVariable, hangup. What the caller
  types is the list in SHIM_DIGITS (entries separated by ","; "HANGUP" hangs
  up instead of typing);
- `freeswitch.API():execute("curl", args)` (mod_curl's `curl` API command):
  the args go, one line, to standard output as "CURL <args>"; the test
  harness (test/support/freeswitch-shim.ts) parses them as mod_curl does,
  performs the real HTTP request against umpin, and writes the response
  body back as one line on standard input;
- `freeswitch.consoleLog`, `argv`.

Every event is written to standard output as "EVENT <kind> <detail>".
]]

local function emit(kind, detail)
  io.write("EVENT " .. kind .. " " .. (detail or "") .. "\n")
  io.flush()
end

local entries = {}
for entry in ((os.getenv("SHIM_DIGITS") or "") .. ","):gmatch("([^,]*),") do entries[#entries + 1] = entry end
local next_entry = 1
local up = true
local variables = { domain_name = os.getenv("SHIM_DOMAIN"), umpin_client_file = os.getenv("SHIM_CLIENT_FILE") }

session = {}
function session:ready() return up end
function session:answer() emit("answer") end
function session:hangup() up = false; emit("hangup") end
function session:getVariable(name) return variables[name] end
function session:setVariable(name, value) variables[name] = value; emit("set", name .. "=" .. tostring(value)) end
function session:streamFile(file) emit("play", file) end
function session:execute(app, data) emit("execute", app .. " " .. (data or "")) end
function session:playAndGetDigits(min, max, tries, timeout, terminators, file, invalid, regex)
  emit("prompt", file)
  local entry = entries[next_entry]
  next_entry = next_entry + 1
  if entry == nil or entry == "HANGUP" then
    up = false
    emit("caller-hung-up")
    return ""
  end
  local pattern = "^" .. regex:gsub("\\d", "%%d") .. "$"
  if #entry < min or #entry > max or not entry:match(pattern) then return "" end
  return entry
end

freeswitch = {}
function freeswitch.consoleLog(level, message) emit("log", level .. " " .. message:gsub("\n", " ")) end
function freeswitch.API()
  return {
    execute = function(_, command, args)
      if command ~= "curl" then error("the shim has only mod_curl's curl API") end
      io.write("CURL " .. args .. "\n")
      io.flush()
      return io.read("l")
    end,
  }
end

argv = {}
for i = 2, #arg do argv[i - 1] = arg[i] end
dofile(arg[1])
emit("end")
