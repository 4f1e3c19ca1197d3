# Sums trigger capture's apply batches from a log with dev.cutover.replicator.apply.TickFeed at DEBUG
# (docs/benchmarks.md, "Three more runs"): batches outside a backlog with 20 or more changes (the
# lag probe alone makes batches of one or two), their changes, their time, and the apply's rate.
# After a batch of 1,000 changes or more the next one is read while it is written (the apply reads
# ahead with a backlog), so where such batches are counted the time summed (read + write) is more
# than the apply was busy, and the rate a lower bound.
#   CUTOVER_JAVA_OPTS=-Dorg.slf4j.simpleLogger.log.dev.cutover.replicator.apply.TickFeed=debug \
#     ./bench lag --capture triggers 2>&1 | tee lag.log; awk -f benchmarks/scripts/apply-batches.awk lag.log
/TickFeed/ && /batch of/ && !/backlog/ {
  n = $0; sub(/.*batch of /, "", n); sub(/ .*/, "", n)
  r = $0; sub(/.*tick and read /, "", r); sub(/ .*/, "", r)
  w = $0; sub(/.*committed /, "", w); sub(/ .*/, "", w)
  if (n + 0 >= 20) { b++; c += n; t += r + w; if (r + w >= 100) slow++; if (r + w >= 300) slower++ }
}
END { printf "%d batches of 20+ changes, %d changes in %d ms: %.0f changes/s while applying; %d over 100 ms, %d over 300 ms\n", b, c, t, c / (t / 1000), slow, slower }
