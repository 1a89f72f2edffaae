-- wrk script: sends prepared raw HTTP requests, each once, in order, then starts over.
-- The file holds, for each request, its length in bytes on a line and then the bytes.
-- Usage: wrk -t1 -c16 -d5s -s bench/replay.lua URL -- FILE
local requests = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  while true do
    local line = file:read("*l")
    if not line then break end
    requests[#requests + 1] = file:read(tonumber(line))
  end
  file:close()
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
