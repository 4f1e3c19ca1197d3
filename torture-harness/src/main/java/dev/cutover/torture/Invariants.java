package dev.cutover.torture;

import dev.cutover.flags.Target;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * I1 to I7 read back from both databases with the harness's own SQL, after every round. Nothing
 * here compares clocks: order comes from the ledger's ticks (see {@link TortureSchema}), what was
 * promised from the instances' journals (read before the databases are), what happened from the
 * switch events.
 *
 * <p>Each side is read in one REPEATABLE READ snapshot, so its figures agree with each other while
 * the load goes on. Work per round is small: acknowledgements and failures are looked up once, by
 * key; ticks and the ledgers of both sides are compared from where the last round stopped; only the
 * aggregates (counts, sums) read whole tables.
 */
final class Invariants {

  /** A broken invariant: which, and what was seen. */
  record Violation(String invariant, String detail) {
    @Override
    public String toString() {
      return invariant + ": " + detail;
    }
  }

  /** One snapshot's aggregates of a side. */
  record Figures(long rows, long distinctTicks, long maxTick, long clock, long distinctTickets, long maxId, long maxTicket,
      long idSequence, long ticketSequence, long balance, long accounts) {}

  private static final int LISTED = 5;

  /** Ticks up to here were compared between the sides. */
  private long comparedTick;
  /** Ticks up to here were counted into origin runs. */
  private long runTick;
  private String lastOrigin;
  private long originChanges;

  /**
   * What the round hands over.
   *
   * @param serving the side that serves now (the unfenced one)
   * @param otherReachable whether the other side answered (a killed server may still be down)
   * @param moved switch attempts that moved the service so far (each may start a new run of origins)
   * @param acks acknowledgements journalled since the last check
   * @param failures failed transactions journalled since the last check
   */
  record Input(Target serving, boolean otherReachable, long moved, List<JournalReader.Ack> acks,
      List<JournalReader.Failure> failures) {}

  private final Cluster cluster;

  Invariants(Cluster cluster) {
    this.cluster = cluster;
  }

  List<Violation> check(Input in) throws SQLException {
    List<Violation> found = new ArrayList<>();
    Target serving = in.serving();
    try (Connection s = cluster.direct(serving); Connection o = in.otherReachable() ? cluster.direct(serving.other()) : null) {
      acknowledged(s, serving, in.acks(), found);
      for (Connection c : o == null ? List.of(s) : List.of(s, o)) {
        refused(c, sideOf(c == s ? serving : serving.other()), in.failures(), found);
      }
      // One snapshot per side, the other side's first: every row it holds came from the serving
      // side, so the serving side's later snapshot holds it too, unless it was written on the
      // other side directly (I2).
      Figures fo = null;
      if (o != null) {
        begin(o);
        fo = figures(o);
      }
      begin(s);
      Figures fs = figures(s);
      consistent(s, serving, true, fs, found);
      List<long[]> servingRows = rowsAfter(s, Math.min(comparedTick, runTick));
      if (o != null) {
        consistent(o, serving.other(), false, fo, found);
        List<long[]> otherRows = rowsAfter(o, comparedTick);
        if (fo.maxTick() > fs.maxTick()) {
          found.add(new Violation("I2", serving.other().value() + " (not serving) holds ticks up to " + fo.maxTick()
              + " while " + serving.value() + " (serving) holds only up to " + fs.maxTick() + ": something committed on the side"
              + " that does not serve"));
        }
        long upTo = Math.min(fs.maxTick(), fo.maxTick());
        compare(serving, servingRows, otherRows, upTo, found);
        comparedTick = Math.max(comparedTick, upTo);
        o.commit();
      }
      s.commit();
      originRuns(servingRows, in.moved(), found);
    }
    return found;
  }

  /** At the end: every operation acknowledged in the whole run, looked up once more on the serving side. */
  List<Violation> recheckAll(Target serving, List<JournalReader.Ack> acks) throws SQLException {
    List<Violation> found = new ArrayList<>();
    try (Connection s = cluster.direct(serving)) {
      for (int from = 0; from < acks.size(); from += 20_000) {
        acknowledged(s, serving, acks.subList(from, Math.min(acks.size(), from + 20_000)), found);
      }
    }
    return found;
  }

  private static String sideOf(Target side) {
    return side.value();
  }

  private static void begin(Connection c) throws SQLException {
    c.setAutoCommit(false);
    c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
  }

  /** I1: every acknowledged operation is on the serving side, as it was acknowledged (a straggler with its first write). */
  private static void acknowledged(Connection s, Target serving, List<JournalReader.Ack> acks, List<Violation> found) throws SQLException {
    if (acks.isEmpty()) {
      return;
    }
    Map<String, JournalReader.Ack> byKey = new HashMap<>();
    for (JournalReader.Ack a : acks) {
      byKey.put(a.instance() + "/" + a.op(), a);
    }
    List<String> missing = new ArrayList<>();
    List<String> different = new ArrayList<>();
    try (PreparedStatement ps = s.prepareStatement("SELECT a.instance, a.op, l.id, l.tick, l.ticket, l.origin,"
        + " sc.op IS NOT NULL FROM unnest(?::text[], ?::bigint[]) AS a(instance, op)"
        + " LEFT JOIN ledger l ON l.instance = a.instance AND l.op = a.op"
        + " LEFT JOIN scratch sc ON sc.instance = a.instance AND sc.op = a.op")) {
      ps.setArray(1, s.createArrayOf("text", acks.stream().map(JournalReader.Ack::instance).toArray()));
      ps.setArray(2, s.createArrayOf("bigint", acks.stream().map(JournalReader.Ack::op).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          JournalReader.Ack a = byKey.get(rs.getString(1) + "/" + rs.getLong(2));
          if (rs.getObject(3) == null) {
            missing.add(a.instance() + " op " + a.op() + " (" + a.kind() + ", tick " + a.tick() + " on " + a.origin() + ")");
          } else if (rs.getLong(3) != a.id() || rs.getLong(4) != a.tick() || rs.getLong(5) != a.ticket()
              || !rs.getString(6).equals(a.origin())) {
            different.add(a.instance() + " op " + a.op() + " acknowledged as id " + a.id() + " tick " + a.tick() + " ticket "
                + a.ticket() + " on " + a.origin() + ", stored as id " + rs.getLong(3) + " tick " + rs.getLong(4) + " ticket "
                + rs.getLong(5) + " on " + rs.getString(6));
          } else if (a.kind().equals(Workload.Kind.STRAGGLER.name()) && !rs.getBoolean(7)) {
            missing.add(a.instance() + " op " + a.op() + " (the straggler's first write, in scratch)");
          }
        }
      }
    }
    if (!missing.isEmpty()) {
      found.add(new Violation("I1", missing.size() + " acknowledged operation(s) missing on " + serving.value()
          + " (serving): " + first(missing)));
    }
    if (!different.isEmpty()) {
      found.add(new Violation("I1", different.size() + " acknowledged operation(s) stored otherwise than acknowledged: "
          + first(different)));
    }
  }

  /**
   * A transaction reported failed in a way that promises it did not commit (an error before commit,
   * the server's own refusal, the driver's 40001 "rolled back") left nothing behind on {@code side}.
   */
  private static void refused(Connection c, String side, List<JournalReader.Failure> failures, List<Violation> found) throws SQLException {
    List<String> instances = new ArrayList<>();
    List<Long> ops = new ArrayList<>();
    Map<String, JournalReader.Failure> byKey = new HashMap<>();
    for (JournalReader.Failure f : failures) {
      if (!definite(f)) {
        continue;
      }
      for (long op = f.firstOp(); op < f.firstOp() + f.ops(); op++) {
        instances.add(f.instance());
        ops.add(op);
        byKey.put(f.instance() + "/" + op, f);
      }
    }
    if (ops.isEmpty()) {
      return;
    }
    List<String> phantoms = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT a.instance, a.op FROM unnest(?::text[], ?::bigint[]) AS a(instance, op)"
        + " WHERE EXISTS (SELECT 1 FROM ledger l WHERE l.instance = a.instance AND l.op = a.op)"
        + " OR EXISTS (SELECT 1 FROM scratch sc WHERE sc.instance = a.instance AND sc.op = a.op)")) {
      ps.setArray(1, c.createArrayOf("text", instances.toArray()));
      ps.setArray(2, c.createArrayOf("bigint", ops.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          JournalReader.Failure f = byKey.get(rs.getString(1) + "/" + rs.getLong(2));
          phantoms.add(f.instance() + " op " + rs.getLong(2) + " (" + f.kind() + ", " + f.sqlState() + " " + f.phase()
              + ": " + f.message() + ")");
        }
      }
    }
    if (!phantoms.isEmpty()) {
      found.add(new Violation("NOT-COMMITTED", phantoms.size() + " transaction(s) reported as not committed are on " + side
          + " (a retry would apply them twice): " + first(phantoms)));
    }
  }

  /**
   * Whether a failure promises that nothing was committed: an error before commit was asked for;
   * or at commit, a refusal by the server (integrity, fence, deadlock, bad data) or the driver's
   * 40001, whose message says "rolled back". A broken connection at commit promises nothing.
   */
  static boolean definite(JournalReader.Failure f) {
    if (f.ops() == 0) {
      return false;
    }
    if (f.phase() == Journal.Phase.BEFORE_COMMIT) {
      return true;
    }
    String s = f.sqlState();
    return s.equals("40001") || s.equals("40P01") || s.equals("25006") || s.startsWith("23") || s.startsWith("22")
        || s.startsWith("42");
  }

  private static Figures figures(Connection c) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT tick),"
        + " coalesce(max(tick), 0), (SELECT tick FROM clock), count(DISTINCT ticket), coalesce(max(id), 0),"
        + " coalesce(max(ticket), 0), (SELECT last_value FROM ledger_id_seq), (SELECT last_value FROM ticket_seq),"
        + " (SELECT sum(balance) FROM account), (SELECT count(*) FROM account) FROM ledger")) {
      rs.next();
      return new Figures(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7),
          rs.getLong(8), rs.getLong(9), rs.getLong(10), rs.getLong(11));
    }
  }

  /**
   * What must hold in any snapshot of either side, serving or not (replication applies whole
   * transactions in commit order): ticks 1..n each once, the clock at n, tickets unique, the total
   * conserved, each balance its transfers; and on the serving side, sequences past every value used
   * (the other side's are moved by the next switch to it).
   */
  private static void consistent(Connection c, Target side, boolean serving, Figures f, List<Violation> found)
      throws SQLException {
    String where = side.value();
    if (f.distinctTicks() != f.rows()) {
      found.add(new Violation("I2", f.rows() - f.distinctTicks() + " tick(s) taken twice on " + where
          + " (two databases accepted writes from the same point): " + first(Sql.strings(c,
              "SELECT tick || ': ' || string_agg(origin || ' ' || instance || ' op ' || op, ', ') FROM ledger"
                  + " GROUP BY tick HAVING count(*) > 1 ORDER BY tick LIMIT " + LISTED))));
    }
    if (f.maxTick() != f.distinctTicks()) {
      found.add(new Violation("I1", f.maxTick() - f.distinctTicks() + " tick(s) missing on " + where + " (commits lost):"
          + " the first gaps at " + first(Sql.strings(c, "SELECT g::text FROM generate_series(1, " + f.maxTick() + ") g"
              + " WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.tick = g) ORDER BY g LIMIT " + LISTED))));
    }
    if (f.clock() != f.maxTick()) {
      found.add(new Violation(f.clock() < f.maxTick() ? "I2" : "I1", "the clock on " + where + " is at " + f.clock()
          + " but its ledger's last tick is " + f.maxTick()));
    }
    if (f.distinctTickets() != f.rows()) {
      found.add(new Violation("I6", f.rows() - f.distinctTickets() + " ticket(s) handed out twice on " + where + ": "
          + first(Sql.strings(c, "SELECT ticket || ': ' || string_agg(origin || ' ' || instance || ' op ' || op, ', ') FROM ledger"
              + " GROUP BY ticket HAVING count(*) > 1 ORDER BY ticket LIMIT " + LISTED))));
    }
    if (f.balance() != TortureSchema.TOTAL || f.accounts() != TortureSchema.ACCOUNTS) {
      found.add(new Violation("TOTAL", "accounts on " + where + " sum to " + f.balance() + " over " + f.accounts()
          + ", not " + TortureSchema.TOTAL + " over " + TortureSchema.ACCOUNTS));
    }
    List<String> unbalanced = Sql.strings(c, "SELECT a.id || ': ' || a.balance || ' held, ' || (" + TortureSchema.OPENING_BALANCE
        + " + coalesce(i.amount, 0) - coalesce(o.amount, 0)) || ' by the ledger' FROM account a"
        + " LEFT JOIN (SELECT to_account AS id, sum(amount) AS amount FROM ledger WHERE kind = 'TRANSFER' GROUP BY 1) i ON i.id = a.id"
        + " LEFT JOIN (SELECT from_account AS id, sum(amount) AS amount FROM ledger WHERE kind = 'TRANSFER' GROUP BY 1) o ON o.id = a.id"
        + " WHERE a.balance <> " + TortureSchema.OPENING_BALANCE + " + coalesce(i.amount, 0) - coalesce(o.amount, 0)"
        + " ORDER BY a.id LIMIT " + LISTED);
    if (!unbalanced.isEmpty()) {
      found.add(new Violation("TOTAL", "balances on " + where + " differ from their transfers: " + first(unbalanced)));
    }
    if (serving && (f.idSequence() < f.maxId() || f.ticketSequence() < f.maxTicket())) {
      found.add(new Violation("I6", "sequences on " + where + " (serving) are behind values already used: ledger id "
          + f.idSequence() + " (used " + f.maxId() + "), ticket " + f.ticketSequence() + " (used " + f.maxTicket() + ")"));
    }
  }

  /** tick, id, ticket, origin hash of every row after {@code tick}, in tick order. */
  private static List<long[]> rowsAfter(Connection c, long tick) throws SQLException {
    List<long[]> rows = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT tick, id, ticket, CASE origin WHEN 'old' THEN 0 ELSE 1 END"
        + " FROM ledger WHERE tick > ? ORDER BY tick, id")) {
      ps.setLong(1, tick);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)});
        }
      }
    }
    return rows;
  }

  /** The rows both sides hold must be the same rows (by tick: id, ticket, origin). */
  private void compare(Target serving, List<long[]> servingRows, List<long[]> otherRows, long upTo, List<Violation> found) {
    Map<Long, long[]> bySide = new HashMap<>();
    for (long[] r : servingRows) {
      if (r[0] <= upTo) {
        bySide.put(r[0], r);
      }
    }
    List<String> differ = new ArrayList<>();
    for (long[] r : otherRows) {
      if (r[0] > upTo) {
        continue;
      }
      long[] mine = bySide.get(r[0]);
      if (mine == null || mine[1] != r[1] || mine[2] != r[2] || mine[3] != r[3]) {
        differ.add("tick " + r[0] + ": " + serving.other().value() + " has id " + r[1] + " from " + (r[3] == 0 ? "old" : "new")
            + ", " + serving.value() + " has " + (mine == null ? "nothing" : "id " + mine[1] + " from " + (mine[3] == 0 ? "old" : "new")));
      }
    }
    if (!differ.isEmpty()) {
      found.add(new Violation("I2", differ.size() + " tick(s) hold different rows on old and new: " + first(differ)));
    }
  }

  /**
   * I2 over time: in tick order, the side the rows come from changes only where the service moved,
   * so the changes never outnumber the switches that moved it.
   */
  private void originRuns(List<long[]> servingRows, long moved, List<Violation> found) {
    for (long[] r : servingRows) {
      if (r[0] <= runTick) {
        continue;
      }
      String origin = r[3] == 0 ? "old" : "new";
      if (lastOrigin != null && !lastOrigin.equals(origin)) {
        originChanges++;
      }
      if (lastOrigin == null && !origin.equals("old")) {
        found.add(new Violation("I2", "the first write (tick " + r[0] + ") committed on new, before any switch"));
      }
      lastOrigin = origin;
      runTick = r[0];
    }
    if (originChanges > moved) {
      found.add(new Violation("I2", "in tick order the writing side changed " + originChanges + " times, but switches moved"
          + " the service only " + moved + " times: both sides took writes in turn"));
      originChanges = moved; // report each excess once
    }
  }

  private static String first(List<String> items) {
    return String.join("; ", items.subList(0, Math.min(LISTED, items.size()))) + (items.size() > LISTED ? "; ..." : "");
  }
}
