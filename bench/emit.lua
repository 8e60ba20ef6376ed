-- wrk script: structured CloudEvents 0.1 of type bench.event, each with its
-- own eventID (bench/run and bench/ab POST them to the Events API).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/cloudevents+json"
local n = 0
-- One Lua state per wrk thread: the table address tells them apart.
local prefix = os.time() .. "-" .. tostring({}):sub(8)
function request()
    n = n + 1
    return wrk.format(nil, "/", nil,
        '{"cloudEventsVersion":"0.1","eventType":"bench.event","source":"/bench",' ..
        '"eventID":"' .. prefix .. "-" .. n .. '","contentType":"application/json",' ..
        '"data":{"n":' .. n .. '}}')
end
