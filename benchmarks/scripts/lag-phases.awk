# Trigger capture's apply batches by phase of ./bench lag --capture triggers, from its output with
# dev.cutover.replicator.apply.TickFeed at DEBUG: batches, changes each, and the mean time each spent
# reading on old and writing and committing on new. Phases: idle (the probe alone, a row every
# 10 ms), load (split into batches of 20 or more changes and smaller ones) and backlog (the apply
# ceiling's). docs/benchmarks.md, "The position and the COMMIT in one message".
#   CUTOVER_JAVA_OPTS=-Dorg.slf4j.simpleLogger.log.dev.cutover.replicator.apply.TickFeed=debug \
#     ./bench lag --capture triggers 2>&1 | tee lag.log; awk -f benchmarks/scripts/lag-phases.awk lag.log
/trigger capture.*probe only/ { ph = "idle" }
/trigger capture.*writer at/ { ph = "load" }
/trigger capture.*apply stopped/ { ph = "backlog" }
/TickFeed/ && /batch of/ && ph != "" {
  n = $0; sub(/.*batch of /, "", n); sub(/ .*/, "", n)
  r = $0; sub(/.*tick and read /, "", r); sub(/ .*/, "", r)
  w = $0; sub(/.*committed /, "", w); sub(/ .*/, "", w)
  k = ph (ph == "load" ? (n + 0 >= 20 ? ", 20+ changes" : ", fewer") : "")
  b[k]++; R[k] += r; W[k] += w; N[k] += n
}
END { for (k in b) printf "%s: %d batches, %.1f changes each, read %.2f ms, written and committed %.2f ms\n", k, b[k], N[k] / b[k], R[k] / b[k], W[k] / b[k] }
