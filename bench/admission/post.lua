-- wrk: POST the AdmissionReview in $REVIEW (a file) on every request.
local f = assert(io.open(os.getenv("REVIEW"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

-- $DELAY_MS between a connection's requests: a paced load (wrk is
-- closed-loop; 4 connections x 4 ms ~ 1,000 requests/s).
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
if delay_ms > 0 then
	function delay()
		return delay_ms
	end
end
