package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static dev.cutover.replicator.cli.CliTest.urls;
import static dev.cutover.replicator.cli.CliTest.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's view of a live switch: two instances of a service (two routers), one of them
 * holding a transaction open while the flag flips, as {@code switch-status --json} and its table
 * show them on both databases: who is live and serves what, each one's phase, the leader, the
 * fence, and the switch's state before, during and after.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SwitchStatusTest {
  private static final String DB = "operator_view";
  private static final String SERVICE = "operator-view";

  @Test
  void switchStatus_twoInstancesThroughASwitch_showsInstancesPhasesLeaderAndFence(PostgresPair pair) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(DB);
      sql(s, DB, "CREATE TABLE item (id bigserial PRIMARY KEY, name text NOT NULL)");
      try (Connection c = s.connect(DB)) {
        ControlSchema.install(c);
      }
    }
    try (Connection o = pair.oldServer().connect(DB); Connection n = pair.newServer().connect(DB)) {
      LogicalReplication.publishAll(o, "ov_pub");
      LogicalReplication.subscribe(n, "ov_sub", pair.oldServer().libpqConnection(DB), "ov_pub", LogicalReplication.InitialData.COPY);
      LogicalReplication.awaitSynced(o, n, "ov_sub", Duration.ofSeconds(30));
    }
    String[] u = urls(pair, DB);
    String[] status = with(new String[] {"switch-status", "--service", SERVICE, "--json"}, u);
    ManualFlag.named(SERVICE).set(Target.OLD);
    try (Connection web1 = connect(pair, "web-1"); Connection web2 = connect(pair, "web-2")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> run(status).out(),
          json -> instance(json, "web-1", "old", "idle") && instance(json, "web-2", "old", "idle"));
      assertThat(run(status).out()).contains("\"fence\":{\"old\":false,\"new\":false}").contains("\"currentSwitch\":null");

      web1.setAutoCommit(false);
      try (Statement s = web1.createStatement()) {
        s.executeUpdate("INSERT INTO item (name) VALUES ('held open across the flip')");
      }
      ManualFlag.named(SERVICE).set(Target.NEW);

      // web-2 has drained and leads, waiting for web-1, which is ready but still has a transaction.
      String during = await().atMost(Duration.ofSeconds(10)).until(() -> run(status).out(),
          json -> json.contains("\"state\":\"draining\"") && instance(json, "web-1", "old", "ready")
              && instance(json, "web-2", "old", "drained") && json.contains("\"leader\":{\"pid\":"));
      assertThat(during).contains("\"source\":\"old\",\"target\":\"new\"").contains("\"fence\":{\"old\":false,\"new\":false}");
      CliTest.Run table = run(with(new String[] {"switch-status", "--service", SERVICE}, u));
      assertThat(table.code()).isZero();
      assertThat(table.out()).contains("service operator-view: 2 live instance(s)").contains("current switch")
          .contains("DRAINING").contains("leader: backend ");
      System.out.println("[switch-status during the switch]\n" + table.out());

      web1.commit();
      String after = await().atMost(Duration.ofSeconds(30)).until(() -> run(status).out(),
          json -> json.contains("\"state\":\"released\"") && instance(json, "web-1", "new", "idle")
              && instance(json, "web-2", "new", "idle"));
      assertThat(after).contains("\"fence\":{\"old\":true,\"new\":false}");
      System.out.println("[switch-status after the switch]\n" + run(with(new String[] {"switch-status", "--service", SERVICE}, u)).out());
    } finally {
      CutoverDriver.shutdown(SERVICE);
    }
  }

  /** {@code db} on both sides with the control schema and a switch of service billing recorded as draining on each. */
  private static void withDrainingSwitch(PostgresPair pair, String db) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
      sql(s, db, "INSERT INTO cutover.switch (service, id, source, target, state) VALUES ('billing', 's-1', 'old', 'new', 'draining')");
    }
  }

  @Test
  void switchAbort_controlSchemaWithoutOperatorFunctions_refusedWithRemedy(PostgresPair pair) throws Exception {
    String db = "operator_abort";
    withDrainingSwitch(pair, db);
    CliTest.Run abort = run(with(new String[] {"switch-abort", "--service", "billing"}, urls(pair, db)));
    CliTest.Run force = run(with(new String[] {"switch-force", "--service", "billing", "on"}, urls(pair, db)));

    if (ControlSchema.VERSION == 1) {
      assertThat(abort.code()).isEqualTo(5);
      assertThat(abort.err()).contains("has no cutover.request_abort()").contains("install the current control schema");
      assertThat(force.code()).isEqualTo(5);
    } else {
      assertThat(abort.code()).as(abort.err()).isZero();
      assertThat(force.code()).as(force.err()).isZero();
    }
  }

  /**
   * An instance killed before old's clock stepped back 10 minutes left a heartbeat stamped in the
   * future: switch-status listed it as "0 ms ago yes" (its negative age clamped to 0), a dead
   * instance shown live for as long as the step (r18). It shows not live now, how far ahead.
   */
  @Test
  void switchStatus_heartbeatStampedInTheFuture_notLive(PostgresPair pair) throws Exception {
    String db = "operator_clock_step";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    sql(pair.oldServer(), db, "INSERT INTO cutover.instance (service, instance, heartbeat_at, serving, phase) VALUES"
        + " ('billing', 'killed#1', clock_timestamp() + interval '10 minutes', 'old', 'idle')");

    CliTest.Run json = run(with(new String[] {"switch-status", "--service", "billing", "--json"}, urls(pair, db)));
    assertThat(json.code()).as(json.err()).isZero();
    assertThat(json.out()).containsPattern("\\{\"name\":\"killed#1\",\"serving\":\"old\",\"heartbeatAgeMillis\":-\\d+,"
        + "\"live\":false,");
    CliTest.Run table = run(with(new String[] {"switch-status", "--service", "billing"}, urls(pair, db)));
    assertThat(table.code()).as(table.err()).isZero();
    assertThat(table.out()).contains("service billing: 0 live instance(s)").containsPattern("killed#1 +old +9m5\\ds ahead  no ");
  }

  /**
   * switch-force took any name: `off` for a misspelled one exited 0 saying the proof was required
   * again while the real service stayed forced, and switch-status showed no force at all, so the
   * next switch left replicated-late writes behind on old (r15, I1). An unknown name is refused
   * now, naming the known ones; switch-status shows the force on each side; a service that has not
   * started yet takes --not-started, and shows once forced.
   */
  @Test
  void switchForce_nameNoSideKnows_refusedAndStatusShowsTheForce(PostgresPair pair) throws Exception {
    String db = operatorViewDatabase(pair, "operator_force");
    String[] u = urls(pair, db);

    assertThat(run(with(new String[] {"switch-force", "--service", "billing", "on"}, u)).code()).isZero();
    CliTest.Run typo = run(with(new String[] {"switch-force", "--service", "Billing", "off"}, u));

    assertThat(typo.code()).as(typo.err()).isEqualTo(5);
    assertThat(typo.err()).contains("no service Billing").contains("known: billing")
        .contains("has nothing forced to turn off").doesNotContain("--not-started");
    CliTest.Run json = run(with(new String[] {"switch-status", "--json"}, u));
    assertThat(json.out()).contains("\"name\":\"billing\"").contains("\"forced\":{\"old\":true,\"new\":true}");
    assertThat(run(with(new String[] {"switch-status"}, u)).out())
        .contains("force: ON on old, ON on new: its next switches go without the replication proof");

    CliTest.Run later = run(with(new String[] {"switch-force", "--service", "later", "--not-started", "on"}, u));
    assertThat(later.code()).as(later.err()).isZero();
    assertThat(run(with(new String[] {"switch-status", "--json"}, u)).out()).contains("\"name\":\"later\"");
    assertThat(run(with(new String[] {"switch-force", "--service", "later", "off"}, u)).code()).isZero();
    assertThat(run(with(new String[] {"switch-force", "--service", "billing", "off"}, u)).code()).isZero();
    assertThat(run(with(new String[] {"switch-status", "--json"}, u)).out())
        .contains("\"forced\":{\"old\":false,\"new\":false}").doesNotContain("\"name\":\"later\"");
  }

  /**
   * A service named with a quote, a space and {@code $(…)}, forced: switch-status printed its
   * {@code switch-force --service <name> off} raw, so pasted, the shell ran what the name held. The
   * name is one shell word now.
   */
  @Test
  void switchStatus_forcedServiceWithAHostileName_printsItsSwitchForceCommandShellQuoted(PostgresPair pair) throws Exception {
    String db = operatorViewDatabase(pair, "operator_force_name");
    String[] u = urls(pair, db);
    String name = "it's $(echo pwned) `true`";
    assertThat(run(with(new String[] {"switch-force", "--service", name, "--not-started", "on"}, u)).code()).isZero();

    String out = run(with(new String[] {"switch-status"}, u)).out();

    String lead = "(`cutover-replicator ";
    assertThat(out).contains(lead);
    String command = out.substring(out.indexOf(lead) + lead.length(), out.indexOf("` requires it again", out.indexOf(lead)));
    assertThat(dev.cutover.testkit.ShellLine.words(command)).containsExactly("switch-force", "--service", name, "off");
    assertThat(run(with(new String[] {"switch-force", "--service", name, "off"}, u)).code()).isZero();
  }

  /**
   * A session on each side holds the switch's row (a leader stuck in a step, or anyone with the control
   * plane): switch-abort's request waited for it without bound. Its lock wait now ends on the
   * server after --network-timeout, naming the side, with nothing changed (a request cut off by
   * the client alone was carried out once the row came free: seen while writing this test); it
   * aborts once the row is let go.
   */
  @Test
  void switchAbort_switchRowHeldByAStuckSession_stopsAfterTheNetworkTimeoutNamingTheSide(PostgresPair pair) throws Exception {
    String db = "operator_abort_stuck";
    withDrainingSwitch(pair, db);
    try (Connection stuckOld = pair.oldServer().connect(db); Connection stuckNew = pair.newServer().connect(db)) {
      for (Connection stuck : List.of(stuckOld, stuckNew)) {
        stuck.setAutoCommit(false);
        try (java.sql.Statement st = stuck.createStatement()) {
          st.execute("SELECT 1 FROM cutover.switch WHERE service = 'billing' FOR UPDATE");
        }
      }

      CliTest.Run held = run(with(new String[] {"switch-abort", "--service", "billing", "--network-timeout", "2s"}, urls(pair, db)));

      assertThat(held.code()).as(held.err()).isEqualTo(8);
      assertThat(held.err()).containsPattern("(old|new): cannot abort a switch")
          .contains("another session held the switch's row or the fence's lock longer than --network-timeout")
          .contains("nothing was changed");
      stuckOld.rollback();
      stuckNew.rollback();
    }
    CliTest.Run free = run(with(new String[] {"switch-abort", "--service", "billing", "--network-timeout", "2s"}, urls(pair, db)));
    assertThat(free.code()).as(free.err()).isZero();
    assertThat(free.out()).contains("is aborted");
  }

  /**
   * r18: new's clock an hour behind old's. The switch old -> new released on old, then the switch
   * back new -> old recorded on new and draining: switch-status compared old's updated_at with
   * new's, each written by its own clock, showed the earlier release as the last switch (phase
   * idle), and switch-abort said no switch was in progress and exited 0 while the gate stayed
   * closed. A switch in progress is the current one whatever the clocks say, and is aborted.
   */
  @Test
  void switchStatusAndAbort_newsClockAnHourBehind_showAndAbortTheSwitchInProgressOnNew(PostgresPair pair) throws Exception {
    String db = skewedSwitches(pair, "operator_skew_abort", "released", "draining", "1 hour", "2 minutes", "0 seconds",
        "1, 0", "NULL, NULL");
    String[] u = urls(pair, db);

    CliTest.Run json = run(with(new String[] {"switch-status", "--service", "billing", "--json"}, u));
    CliTest.Run table = run(with(new String[] {"switch-status", "--service", "billing"}, u));
    CliTest.Run abort = run(with(new String[] {"switch-abort", "--service", "billing"}, u));

    assertThat(json.code()).as(json.err()).isZero();
    assertThat(json.out()).contains("\"id\":\"s-back\"").contains("\"state\":\"draining\"")
        .contains("\"recordedOn\":\"new\"");
    assertThat(table.out()).contains("current switch s-back: new -> old, DRAINING");
    assertThat(abort.code()).as(abort.err()).isZero();
    assertThat(abort.out()).contains("the switch of billing is aborted and its fence lowered");
    assertThat(state(pair.newServer(), db)).isEqualTo("aborted");
    assertThat(state(pair.oldServer(), db)).isEqualTo("released");
  }

  /**
   * Between two released switches the later is the one whose fence epoch on the other side's
   * sequence is above the other's target epoch: new's clock an hour behind, the release back to
   * old a minute ago on new shows as the last switch, not the release to new ten minutes ago on
   * old; with new's clock an hour ahead, the release to new a minute ago on old does, not the
   * release back ten minutes ago on new.
   */
  @Test
  void switchStatus_finishedSwitchesUnderSkewedClocks_showsTheYoungerOnItsOwnServer(PostgresPair pair) throws Exception {
    String behind = skewedSwitches(pair, "operator_skew_behind", "released", "released", "1 hour", "10 minutes", "1 minute",
        "1, 0", "3, 1");
    String ahead = skewedSwitches(pair, "operator_skew_ahead", "released", "released", "-1 hour", "1 minute", "10 minutes",
        "3, 1", "1, 0");

    CliTest.Run newerOnNew = run(with(new String[] {"switch-status", "--service", "billing"}, urls(pair, behind)));
    CliTest.Run newerOnOld = run(with(new String[] {"switch-status", "--service", "billing"}, urls(pair, ahead)));

    assertThat(newerOnNew.out()).as(newerOnNew.err()).contains("last switch s-back: new -> old, RELEASED");
    assertThat(newerOnOld.out()).as(newerOnOld.err()).contains("last switch s-there: old -> new, RELEASED");
  }

  /**
   * {@code db} on both sides with the control schema; service billing's switch s-there (old ->
   * new, {@code oldState}) recorded on old {@code oldAge} ago and s-back (new -> old, {@code
   * newState}) recorded on new {@code newAge} ago, as a clock {@code newBehind} behind old's
   * writes it there (the servers share this machine's clock: the skew is written into updated_at);
   * each with its fence epoch and target epoch ({@code "fence, target"}) as a switch writes them.
   */
  static String skewedSwitches(PostgresPair pair, String db, String oldState, String newState, String newBehind,
      String oldAge, String newAge, String oldEpochs, String newEpochs) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    sql(pair.oldServer(), db, "INSERT INTO cutover.switch (service, id, source, target, state, updated_at, fence_epoch,"
        + " target_epoch) VALUES ('billing', 's-there', 'old', 'new', '" + oldState + "', clock_timestamp() - interval '"
        + oldAge + "', " + oldEpochs + ")");
    sql(pair.newServer(), db, "INSERT INTO cutover.switch (service, id, source, target, state, updated_at, fence_epoch,"
        + " target_epoch) VALUES ('billing', 's-back', 'new', 'old', '" + newState + "', clock_timestamp() - interval '"
        + newAge + "', " + newEpochs + ")");
    sql(pair.newServer(), db, "UPDATE cutover.switch SET updated_at = updated_at - interval '" + newBehind + "'");
    return db;
  }

  @Test
  void switchStatus_roleGrantedOnlyTheOperatorView_showsWhatTheInstallerSees(PostgresPair pair) throws Exception {
    String db = operatorViewDatabase(pair, "operator_ops");
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      sql(s, db, "GRANT USAGE ON SCHEMA cutover TO ops_view; GRANT EXECUTE ON FUNCTION cutover.version(),"
          + " cutover.fence_raised(), cutover.service_names(), cutover.service_status(text), cutover.service_instances(text),"
          + " cutover.switch_leader(text), cutover.switch_leader_pid(text) TO ops_view");
    }
    CliTest.Run installer = run(with(new String[] {"switch-status", "--json"}, urls(pair, db)));
    CliTest.Run ops = run(with(new String[] {"switch-status", "--json"}, as(pair, db, "ops_view")));

    assertThat(installer.code()).as(installer.err()).isZero();
    assertThat(installer.out()).contains("\"name\":\"billing\"").contains("\"state\":\"draining\"");
    assertThat(ops.code()).as(ops.err()).isZero();
    assertThat(ops.out()).isEqualTo(installer.out());
  }

  @Test
  void switchStatus_roleWithoutTheGrant_exits4NamingTheGrant(PostgresPair pair) throws Exception {
    String db = operatorViewDatabase(pair, "operator_outsider");

    CliTest.Run outsider = run(with(new String[] {"switch-status"}, as(pair, db, "ops_view")));

    assertThat(outsider.code()).as(outsider.err()).isEqualTo(4);
    assertThat(outsider.err()).contains("old: ").contains("ops_view may not use it").contains("--app-role");
  }

  @Test
  void switchStatus_controlSchemaWithoutTheOperatorView_exits5WithTheUpgrade(PostgresPair pair) throws Exception {
    String db = operatorViewDatabase(pair, "operator_old_schema");
    sql(pair.newServer(), db, "DROP FUNCTION cutover.service_names()");

    CliTest.Run old = run(with(new String[] {"switch-status"}, urls(pair, db)));

    assertThat(old.code()).as(old.err()).isEqualTo(5);
    assertThat(old.err()).contains("new: the control schema here is missing or older than this replicator")
        .contains("cutover-replicator start");
  }

  /**
   * A database on both servers with the control schema, a switch of {@code billing} recorded on
   * old, and a login role {@code ops_view} granted nothing of it.
   */
  private static String operatorViewDatabase(PostgresPair pair, String db) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "DO $$ BEGIN CREATE ROLE ops_view LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    sql(pair.oldServer(), db, "INSERT INTO cutover.switch (service, id, source, target, state, reason)"
        + " VALUES ('billing', 's-1', 'old', 'new', 'draining', 'test')");
    return db;
  }

  private static String state(PostgresServer server, String db) throws Exception {
    try (Connection c = server.connect(db); Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery("SELECT state FROM cutover.switch WHERE service = 'billing'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static String[] as(PostgresPair pair, String db, String role) {
    return new String[] {"--old-url", pair.oldServer().jdbcUrl(db), "--new-url", pair.newServer().jdbcUrl(db),
        "--old-user", role, "--new-user", role};
  }

  /**
   * Whether the JSON lists {@code name} (a configured cutover.instance, which the control schema
   * shows with its router's suffix) as live, serving {@code side}, in {@code phase}.
   */
  private static boolean instance(String json, String name, String side, String phase) {
    return Pattern.compile("\\{\"name\":\"" + name + "#[0-9a-f]+\",\"serving\":\"" + side + "\",\"heartbeatAgeMillis\":\\d+,"
        + "\"live\":true,\"phase\":\"" + phase + "\"}").matcher(json).find();
  }

  private static Connection connect(PostgresPair pair, String instance) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", pair.oldServer().user());
    return DriverManager.getConnection("jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port()
        + "/" + DB + "?cutover.new.url=" + URLEncoder.encode(pair.newServer().jdbcUrl(DB), StandardCharsets.UTF_8)
        + "&cutover.service=" + SERVICE + "&cutover.instance=" + instance + "&cutover.flag.provider=manual"
        + "&cutover.flag.key=" + SERVICE + "&cutover.drain.timeout=30s", p); // long: the test holds a transaction open on purpose
  }
}
