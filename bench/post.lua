-- wrk script: POST one chat completion. Env: AUTH (bearer key), MODEL, STREAM=1, TOKENS.
wrk.method = "POST"
local model = os.getenv("MODEL") or "fake-model"
local stream = os.getenv("STREAM") == "1"
local tokens = os.getenv("TOKENS") or "16"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"In one sentence, what is a vector database?"}],"max_tokens":' .. tokens .. (stream and ',"stream":true' or '') .. '}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("AUTH") or "x")
