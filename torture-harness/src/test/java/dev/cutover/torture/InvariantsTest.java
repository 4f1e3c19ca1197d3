package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The checks find what they are meant to: each test breaks one invariant by hand in a replicated
 * pair (old serving, nothing fenced yet) and expects it reported, then puts things back.
 */
class InvariantsTest {
  private static Cluster cluster;
  private static Operator operator;
  private static final List<JournalReader.Ack> ACKS = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("invariants-test");
    cluster = Cluster.start(Integer.getInteger("cutover.test.old", 12), Integer.getInteger("cutover.test.new", 17), dir);
    operator = new Operator(cluster, dir.resolve("routing.flag"));
    try (Connection old = cluster.direct(Target.OLD); PreparedStatement ps = old.prepareStatement(TortureSchema.RECORD)) {
      for (long op = 1; op <= 20; op++) {
        ps.setString(1, "t");
        ps.setLong(2, op);
        ps.setString(3, op % 2 == 0 ? "TRANSFER" : "NOTE");
        ps.setObject(4, op % 2 == 0 ? 1 : null, java.sql.Types.INTEGER);
        ps.setObject(5, op % 2 == 0 ? 2 : null, java.sql.Types.INTEGER);
        ps.setLong(6, 0);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          ACKS.add(new JournalReader.Ack("t", op, op % 2 == 0 ? "TRANSFER" : "NOTE", rs.getLong(1), rs.getLong(2),
              rs.getLong(3), rs.getString(4)));
        }
      }
    }
    caughtUp();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Every test leaves the pair as it found it: consistent. */
  @AfterEach
  void consistentAgain() throws Exception {
    caughtUp();
    assertThat(check(List.of(), List.of())).isEmpty();
  }

  private static void caughtUp() throws SQLException {
    assertThat(operator.catchUp(Target.OLD, Duration.ofSeconds(30))).as("replication caught up").isTrue();
  }

  private static List<String> check(List<JournalReader.Ack> acks, List<JournalReader.Failure> failures) throws SQLException {
    return new Invariants(cluster).check(new Invariants.Input(Target.OLD, true, 0, acks, failures)).stream()
        .map(Invariants.Violation::toString).toList();
  }

  private static void sql(Target side, String... statements) throws SQLException {
    try (Connection c = cluster.direct(side); Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    }
  }

  @Test
  void check_everyAcknowledgedRowInPlace_findsNothing() throws Exception {
    assertThat(check(ACKS, List.of())).isEmpty();
  }

  @Test
  void check_acknowledgedOperationMissing_reportsI1() throws Exception {
    List<JournalReader.Ack> acks = new ArrayList<>(ACKS);
    acks.add(new JournalReader.Ack("t", 999, "NOTE", 12345, 999, 12345, "old"));
    assertThat(check(acks, List.of())).singleElement().asString()
        .startsWith("I1: 1 acknowledged operation(s) missing on old (serving): t op 999");
  }

  @Test
  void check_acknowledgedOtherwiseThanStored_reportsI1() throws Exception {
    JournalReader.Ack a = ACKS.get(3);
    List<JournalReader.Ack> acks = List.of(new JournalReader.Ack(a.instance(), a.op(), a.kind(), a.id(), a.tick() + 1, a.ticket(), a.origin()));
    assertThat(check(acks, List.of())).singleElement().asString().contains("stored otherwise than acknowledged");
  }

  @Test
  void check_committedRowLost_reportsTheGapOnBothSides() throws Exception {
    sql(Target.OLD, "CREATE TEMP TABLE keep AS SELECT * FROM ledger WHERE tick = 5", "DELETE FROM ledger WHERE tick = 5");
    caughtUp();
    try {
      assertThat(check(List.of(), List.of())).containsExactlyInAnyOrder(
          "I1: 1 tick(s) missing on old (commits lost): the first gaps at 5",
          "I1: 1 tick(s) missing on new (commits lost): the first gaps at 5");
    } finally {
      restore(5);
    }
  }

  private static void restore(long tick) throws SQLException {
    JournalReader.Ack a = ACKS.stream().filter(x -> x.tick() == tick).findFirst().orElseThrow();
    sql(Target.OLD, "INSERT INTO ledger (id, instance, op, kind, tick, origin, ticket, from_account, to_account, amount)"
        + " VALUES (" + a.id() + ", 't', " + a.op() + ", '" + a.kind() + "', " + a.tick() + ", 'old', " + a.ticket() + ", "
        + (a.kind().equals("TRANSFER") ? "1, 2" : "NULL, NULL") + ", 0)");
  }

  @Test
  void check_tickTakenTwiceOnTheSideNotServing_reportsI2() throws Exception {
    sql(Target.NEW, "INSERT INTO ledger (id, ticket, instance, op, kind, tick, origin) VALUES (1000000, 1000000, 'rogue', 1, 'NOTE', 7, 'new')");
    try {
      assertThat(check(List.of(), List.of())).anySatisfy(v -> assertThat(v).startsWith("I2: 1 tick(s) taken twice on new"));
    } finally {
      sql(Target.NEW, "DELETE FROM ledger WHERE instance = 'rogue'");
    }
  }

  @Test
  void check_writeCommittedOnTheSideNotServing_reportsI2() throws Exception {
    sql(Target.NEW, "INSERT INTO ledger (id, ticket, instance, op, kind, tick, origin)"
        + " SELECT 1000000, 1000000, 'rogue', 1, 'NOTE', max(tick) + 1, 'new' FROM ledger",
        "UPDATE clock SET tick = tick + 1");
    try {
      assertThat(check(List.of(), List.of())).anySatisfy(v -> assertThat(v).startsWith("I2: new (not serving) holds ticks up to"));
    } finally {
      sql(Target.NEW, "DELETE FROM ledger WHERE instance = 'rogue'", "UPDATE clock SET tick = tick - 1");
    }
  }

  @Test
  void check_writingSideChangesWithoutASwitch_reportsI2() throws Exception {
    sql(Target.OLD, "INSERT INTO ledger (instance, op, kind, tick, origin) SELECT 'rogue', 1, 'NOTE', max(tick) + 1, 'new' FROM ledger",
        "UPDATE clock SET tick = tick + 1");
    caughtUp();
    try {
      assertThat(check(List.of(), List.of())).containsExactly("I2: in tick order the writing side changed 1 times, but"
          + " switches moved the service only 0 times: both sides took writes in turn");
    } finally {
      sql(Target.OLD, "DELETE FROM ledger WHERE instance = 'rogue'", "UPDATE clock SET tick = tick - 1");
    }
  }

  @Test
  void check_ticketHandedOutTwice_reportsI6() throws Exception {
    sql(Target.OLD, "UPDATE ledger SET ticket = (SELECT ticket FROM ledger WHERE tick = 2) WHERE tick = 3");
    caughtUp();
    try {
      assertThat(check(List.of(), List.of())).anySatisfy(v -> assertThat(v).startsWith("I6: 1 ticket(s) handed out twice on old"));
    } finally {
      sql(Target.OLD, "UPDATE ledger SET ticket = " + ACKS.stream().filter(a -> a.tick() == 3).findFirst().orElseThrow().ticket()
          + " WHERE tick = 3");
    }
  }

  @Test
  void check_servingSequenceBehindUsedValues_reportsI6() throws Exception {
    sql(Target.OLD, "SELECT setval('ledger_id_seq', 1)");
    try {
      assertThat(check(List.of(), List.of())).singleElement().asString().startsWith("I6: sequences on old (serving) are behind");
    } finally {
      sql(Target.OLD, "SELECT setval('ledger_id_seq', (SELECT max(id) FROM ledger))");
    }
  }

  @Test
  void check_balanceMovedWithoutItsTransfer_reportsTotal() throws Exception {
    sql(Target.OLD, "UPDATE account SET balance = balance + 5 WHERE id = 3");
    caughtUp();
    try {
      assertThat(check(List.of(), List.of())).contains(
          "TOTAL: accounts on old sum to " + (TortureSchema.TOTAL + 5) + " over 16, not " + TortureSchema.TOTAL + " over 16",
          "TOTAL: balances on old differ from their transfers: 3: " + (TortureSchema.OPENING_BALANCE + 5) + " held, "
              + TortureSchema.OPENING_BALANCE + " by the ledger");
    } finally {
      sql(Target.OLD, "UPDATE account SET balance = balance - 5 WHERE id = 3");
    }
  }

  @Test
  void check_transactionReportedRolledBackButCommitted_isReported() throws Exception {
    JournalReader.Failure rolledBack = new JournalReader.Failure("t", 4, 1, "TRANSFER", "40001", Journal.Phase.AT_COMMIT,
        "none", "cutover: transaction rolled back: it was still open");
    JournalReader.Failure unknown = new JournalReader.Failure("t", 6, 1, "TRANSFER", "08006", Journal.Phase.AT_COMMIT,
        "none", "An I/O error occurred while sending to the backend.");
    assertThat(check(List.of(), List.of(rolledBack, unknown))).containsExactly(
        "NOT-COMMITTED: 1 transaction(s) reported as not committed are on old (a retry would apply them twice): t op 4"
            + " (TRANSFER, 40001 AT_COMMIT: cutover: transaction rolled back: it was still open)",
        "NOT-COMMITTED: 1 transaction(s) reported as not committed are on new (a retry would apply them twice): t op 4"
            + " (TRANSFER, 40001 AT_COMMIT: cutover: transaction rolled back: it was still open)");
  }
}
