# Sums the batches trigger capture's apply made of the apply ceiling's backlog, from a log with
# dev.cutover.replicator.apply.TickFeed at DEBUG (docs/benchmarks.md, "Reading a batch ahead of the
# target"): from "apply stopped, writing a backlog" to "transactions applied in" of trigger capture,
# their count, changes, and their read and write times summed. Where the apply reads ahead the two
# overlap, so their sum can exceed the time the backlog took ("transactions applied in").
#   CUTOVER_JAVA_OPTS=-Dorg.slf4j.simpleLogger.log.dev.cutover.replicator.apply.TickFeed=debug \
#     ./bench lag --capture triggers --backlog 100000 2>&1 | tee lag.log; awk -f benchmarks/scripts/ceiling-batches.awk lag.log
/apply stopped, writing a backlog/ && /trigger capture/ { on = 1 }
/transactions applied in/ && /trigger capture/ { on = 0 }
on && /TickFeed/ && /batch of/ {
  n = $0; sub(/.*batch of /, "", n); sub(/ .*/, "", n)
  r = $0; sub(/.*tick and read /, "", r); sub(/ .*/, "", r)
  w = $0; sub(/.*committed /, "", w); sub(/ .*/, "", w)
  b++; c += n; rs += r; ws += w
}
END { printf "%d batches, %d changes: reads %d ms, writes %d ms summed\n", b, c, rs, ws }
