package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.StatementLog;
import java.net.ServerSocket;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the replicator sends that must stay secret (the subscription's password, the trigger
 * capture's apply token) never reaches the servers' logs, read here with {@code log_statement =
 * all} on both servers: every statement each server ran is in its log. Before, the token was a bind
 * parameter of the INSERT that made it (logged as {@code DETAIL: parameters: $1 = '…'}), and the
 * password a literal of every CREATE SUBSCRIPTION, logged under {@code log_statement = ddl} and, by
 * {@code log_min_error_statement = error} (the default), whenever one failed.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SecretsInServerLogsTest {
  /** A superuser of its own, who logs in with a password the logs must not show. */
  private static final String ADMIN = "log_admin";
  private static final String PASSWORD = "Lg-s3cret-7c1e";
  private static final Map<PostgresServer, StatementLog> LOGS = new HashMap<>();

  /**
   * Each server restarted logging every statement, with its parameters, into a file of this test's
   * ({@link StatementLog}); the roles are made before, so that their passwords are not in the logs
   * for another reason.
   */
  @BeforeAll
  static void logEveryStatement(PostgresPair pair) throws Exception {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = server.connect()) {
        AppDatabase.execute(c, "CREATE ROLE " + ADMIN + " SUPERUSER LOGIN PASSWORD " + Sql.literal(PASSWORD));
      }
      ProviderAdmin.install(server);
      ProviderAdmin.askForPasswords(server, ADMIN);
      LOGS.put(server, StatementLog.of(server, "secrets-" + (server == pair.oldServer() ? "old" : "new")));
    }
  }

  /**
   * Trigger capture and an apply into new, with every statement logged: the apply token of either
   * side, with which any role could write on old past capture, is in neither log, nor is the lead
   * secret that {@code start}'s install of the control schema set on either (r27 D3: its setval was
   * logged on both).
   */
  @Test
  void startAndApply_triggerCaptureUnderLogStatementAll_tokenAndLeadSecretInNoServerLog(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "tokenlog");
    Replicator r = replicator(pair, db.name);
    r.start(StartOptions.defaults().withJobs(2).withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO audit_log (message) VALUES ('after start'); UPDATE customer SET email = 'x' || email WHERE id < 5");
      r.awaitCaughtUp(Duration.ofMinutes(1));
    }
    String oldToken;
    String newToken;
    String oldSecret;
    String newSecret;
    try (Connection o = db.old(); Connection n = db.nw()) {
      oldToken = AppDatabase.strings(o, "SELECT token FROM cutover.apply_token").get(0);
      newToken = AppDatabase.strings(n, "SELECT token FROM cutover.apply_token").get(0);
      oldSecret = AppDatabase.strings(o, "SELECT last_value::text FROM cutover.lead_secret").get(0);
      newSecret = AppDatabase.strings(n, "SELECT last_value::text FROM cutover.lead_secret").get(0);
    }
    for (StatementLog log : List.of(LOGS.get(pair.oldServer()), LOGS.get(pair.newServer()))) {
      assertThat(log.text()).as("%s logs statements", log).contains("cutover.apply_token").contains("cutover.lead_secret");
      assertThat(log.linesWith(oldToken, newToken)).as("lines of %s with a token", log).isEmpty();
      assertThat(log.linesWith(oldSecret, newSecret)).as("lines of %s with a lead secret", log).isEmpty();
    }
  }

  /**
   * A probe that fails (old's port closed), then check and start that succeed, as a superuser who
   * may turn the logging off around each statement that carries the password: neither log shows
   * it, though new logged every other statement, and check warns of nothing.
   */
  @Test
  void checkAndStart_failedProbeUnderLogStatementAll_passwordInNoServerLog(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "pwlog");
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(o, "DROP TABLE audit_log");
      AppDatabase.execute(n, "DROP TABLE audit_log");
    }
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Replicator unreachable = Replicator.builder()
        .old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(db.name), ADMIN, PASSWORD)
            .withConninfo("host=127.0.0.1 port=" + closed + " dbname=" + db.name + " user=" + ADMIN + " password=" + PASSWORD))
        .nw(Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db.name), ADMIN, PASSWORD))
        .build();
    assertThat(unreachable.check().findings()).anySatisfy(f -> {
      assertThat(f.code()).isEqualTo("subscription-login");
      assertThat(f.side()).isEqualTo("new");
    });

    Replicator r = replicator(pair, db.name);
    CheckReport report = r.check();
    assertThat(report.findings()).noneMatch(f -> f.code().equals("subscription-login"));
    assertThat(report.findings()).noneMatch(f -> f.code().equals("password-in-server-log"));
    r.start(StartOptions.defaults().withJobs(2), new CopyProgress(), CopyListener.NONE);

    assertThat(LOGS.get(pair.newServer()).text()).as("new logs statements").contains("LOG:  execute");
    assertThat(LOGS.get(pair.newServer()).linesWith(PASSWORD)).as("lines of new's log with the password").isEmpty();
    assertThat(LOGS.get(pair.oldServer()).linesWith(PASSWORD)).as("lines of old's log with the password").isEmpty();
  }

  /**
   * An admin who may create subscriptions (16+) but not turn the logging off: check says that new's
   * {@code log_statement} writes the subscription's password into new's log, and how to stop it.
   */
  @Test
  void check_adminMayNotSetLogStatement_warnsThePasswordGoesToTheLog(PostgresPair pair) throws Exception {
    assumeThat(pair.newServer().majorVersion()).as("a non-superuser creates subscriptions from 16").isGreaterThanOrEqualTo(16);
    String db = ProviderAdmin.database(pair, "pwwarn");
    ProviderAdmin.shop(pair.oldServer(), db, true);
    ProviderAdmin.shop(pair.newServer(), db, false);

    CheckReport report = ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db).check();

    assertThat(report.findings()).filteredOn(f -> f.code().equals("password-in-server-log") && f.side().equals("new"))
        .singleElement().satisfies(f -> {
          assertThat(f.severity()).isEqualTo(Severity.WARNING);
          assertThat(f.message()).contains("new's log_statement = all writes the subscription's password into new's server log");
          assertThat(f.remedy()).contains("GRANT SET ON PARAMETER log_statement");
        });
    assertThat(report.findings()).extracting(Finding::message).noneMatch(m -> m.contains(ProviderAdmin.ADMIN_PASSWORD));
  }

  private static Replicator replicator(PostgresPair pair, String db) {
    return Replicator.builder()
        .old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(db), ADMIN, PASSWORD))
        .nw(Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db), ADMIN, PASSWORD))
        .build();
  }
}
