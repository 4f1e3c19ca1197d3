package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.ProviderAdmin.Run;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The replicator run by an RDS-like admin (not a superuser) from PostgreSQL 13 to 17, with the
 * application as a plain role: every command works, or is refused before it changes anything with
 * the grant to add or, where 13 allows none (a subscription on a 13 server), the reason and the
 * alternative. Privileges are judged by what a role may do, never by its name.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 13, newMajor = 17)
class LeastPrivilege13To17Test {
  private static final Duration CATCH_UP = Duration.ofSeconds(30);

  @BeforeAll
  static void providerRoles(PostgresPair pair) throws Exception {
    ProviderAdmin.install(pair);
  }

  private static StartOptions options() {
    return StartOptions.defaults().withJobs(2);
  }

  /**
   * The whole native flow from 13 to 17 as the admin. The way back needs a subscription on old,
   * which PostgreSQL 13 allows only a superuser: check warns, and reverse (and its --prepare) is
   * refused up front naming the alternatives, without touching anything.
   */
  @Test
  void rdsAdmin_everyCommand_runsOrIsRefusedUpFront(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_flow");
    ProviderAdmin.shop(pair.oldServer(), db, true);

    Run schema = ProviderAdmin.cli(pair, db, "schema");
    assertThat(schema.code()).as(schema.err()).isZero();
    assertThat(schema.out()).contains("3 table(s) on new")
        .contains("warning: ownership mapped to rds_admin: it cannot become postgres on new")
        .contains("warning: GRANT CREATE ON SCHEMA public TO PUBLIC was not copied");
    try (Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      assertThat(AppDatabase.strings(n, "SELECT has_schema_privilege('public', 'public', 'CREATE')::text"
          + " || has_schema_privilege('public', 'public', 'USAGE')::text")).as("public stays closed, still usable").containsExactly("falsetrue");
      assertThat(AppDatabase.strings(n, "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace"
          + " IN ('shop'::regnamespace, 'public'::regnamespace)")).containsExactly(ProviderAdmin.ADMIN);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace"
          + " AND has_table_privilege('shop_app', c.oid, 'INSERT') AND c.relkind = 'r'")).as("grants carried").isEqualTo(2);
    }

    Run check = ProviderAdmin.cli(pair, db, "check", "--app-role", ProviderAdmin.APP, "--json");
    assertThat(check.code()).as(check.out()).isZero();
    assertThat(check.out()).doesNotContain("\"severity\":\"error\"")
        .contains("\"code\":\"subscription-privilege\"").contains("PostgreSQL 13 lets only a superuser create a subscription")
        .contains("--capture triggers");

    Run start = ProviderAdmin.cli(pair, db, "start", "--jobs", "2", "--no-progress");
    assertThat(start.code()).as(start.err()).isZero();
    assertThat(start.out()).contains("warning: no way back for these roles: `cutover-replicator reverse` will be refused after the"
        + " switch, old: PostgreSQL 13 lets only a superuser create a subscription");
    Run resume = ProviderAdmin.cli(pair, db, "start", "--resume", "--no-progress");
    assertThat(resume.code()).as(resume.err()).isEqualTo(Failure.PRECONDITION.exitCode());
    assertThat(resume.err()).contains("start has finished already: new has subscription").doesNotContain("empty new's tables");
    for (String[] swapped : List.of(new String[] {"status"}, new String[] {"reverse"}, new String[] {"reverse", "--prepare"})) {
      Run refused = ProviderAdmin.cliSwapped(pair, db, swapped);
      assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(Failure.PRECONDITION.exitCode());
      assertThat(refused.err()).contains("old and new look swapped: replication of migration")
          .contains("runs from the database given as --new-url into the one given as --old-url (" + String.join(" ", swapped)
              + " changed nothing)");
    }
    try (Connection app = ProviderAdmin.app(pair.oldServer(), db)) {
      AppDatabase.execute(app, "INSERT INTO shop.customer (email) VALUES ('after-start@example.com');"
          + " INSERT INTO shop.orders (customer, total) SELECT id, 9.5 FROM shop.customer WHERE email = 'after-start@example.com';"
          + " UPDATE public.note SET body = 'changed' WHERE id = 7; DELETE FROM shop.orders WHERE id = 3");
    }
    assertThat(ProviderAdmin.cli(pair, db, "catch-up", "--timeout", "30s").code()).isZero();
    Run status = ProviderAdmin.cli(pair, db, "status");
    assertThat(status.code()).as(status.err()).isZero();
    assertThat(status.out()).contains("forward (old -> new)").contains("tables: 6 of 6 ready").contains("schema changes on old are not captured");
    Run verify = ProviderAdmin.cli(pair, db, "verify");
    assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
    assertThat(verify.out()).contains("no differences");
    Run sequences = ProviderAdmin.cli(pair, db, "sequences");
    assertThat(sequences.code()).as(sequences.err()).isZero();
    assertThat(sequences.out()).contains("3 of 3 sequence(s) on new moved past old");

    for (String[] reverse : List.of(new String[] {"reverse", "--prepare"}, new String[] {"reverse"})) {
      Run refused = ProviderAdmin.cli(pair, db, reverse);
      assertThat(refused.code()).as(refused.err()).isEqualTo(Failure.PRIVILEGE.exitCode());
      assertThat(refused.err().strip()).doesNotContain("\n")
          .contains("old: PostgreSQL 13 lets only a superuser create a subscription, and role rds_admin is not one")
          .contains(String.join(" ", reverse) + " changed nothing")
          .contains("upgrade old to 16+ where GRANT pg_create_subscription suffices").contains("`--capture triggers`")
          .contains("the engine is chosen at start: for a migration started already, `cutover-replicator cleanup`, then start again");
    }
    try (Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'cutover\\_rev\\_%'")).isZero();
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM cutover.slot_at_switch")).isZero();
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_subscription WHERE subname = 'cutover_fwd_' || current_database()")).as("forward untouched").isOne();
    }

    Run cleanup = ProviderAdmin.cli(pair, db, "cleanup");
    assertThat(cleanup.code()).as(cleanup.err()).isZero();
    ProviderAdmin.assertNothingOfOurs(pair.oldServer(), db);
    ProviderAdmin.assertNothingOfOurs(pair.newServer(), db);
  }

  /** A role old grants to but new lacks: check names it, and schema stops before creating anything, saying which role to create. */
  @Test
  void schema_grantToRoleMissingOnNew_stopsBeforeAnythingAndNamesIt(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_roles");
    try (Connection c = pair.oldServer().connect()) {
      AppDatabase.execute(c, "CREATE ROLE reporting LOGIN");
    }
    ProviderAdmin.shop(pair.oldServer(), db, false);
    try (Connection c = ProviderAdmin.admin(pair.oldServer(), db)) {
      AppDatabase.execute(c, "GRANT SELECT ON shop.orders TO reporting");
    }
    assertThat(ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db).check().findings())
        .filteredOn(f -> f.code().equals("missing-role")).singleElement()
        .satisfies(f -> assertThat(f.remedy()).startsWith("CREATE ROLE \"reporting\""));

    Run schema = ProviderAdmin.cli(pair, db, "schema");
    assertThat(schema.code()).isEqualTo(Failure.PRECONDITION.exitCode());
    assertThat(schema.err().strip()).doesNotContain("\n").contains("new lacks role(s) reporting")
        .contains("CREATE ROLE \"reporting\"").contains("--no-privileges");
    try (Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'shop'")).isZero();
    }
  }

  /** 13 -> 13 on one server: new would need a subscription and session_replication_role, both superuser-only on 13. */
  @Test
  void check_subscriptionOn13Target_isRefusedBeforeAnythingStarts(PostgresPair pair) throws Exception {
    PostgresServer s = pair.oldServer();
    String oldDb = ProviderAdmin.database(s, "lp13_old");
    String newDb = ProviderAdmin.database(s, "lp13_new");
    ProviderAdmin.shop(s, oldDb, true);
    ProviderAdmin.shop(s, newDb, false);
    Replicator r = ProviderAdmin.replicator(s, oldDb, s, newDb);

    CheckReport report = r.check(List.of(ProviderAdmin.APP));
    assertThat(report.findings()).filteredOn(f -> f.severity() == Severity.ERROR).extracting(Finding::code)
        .containsExactlyInAnyOrder("subscription-privilege", "replica-role-privilege");
    assertThat(report.findings()).filteredOn(f -> f.code().equals("subscription-privilege") && f.side().equals("new")).singleElement()
        .satisfies(f -> {
          assertThat(f.message()).isEqualTo("PostgreSQL 13 lets only a superuser create a subscription, and role rds_admin is not one");
          assertThat(f.remedy()).contains("connect to new as a superuser").contains("`--capture triggers`");
        });

    assertThatThrownBy(() -> r.start(options(), new CopyProgress(), CopyListener.NONE))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRIVILEGE);
          assertThat(e.getMessage()).contains("new: PostgreSQL 13 lets only a superuser create a subscription")
              .contains("new: role rds_admin may not set session_replication_role").contains("start changed nothing");
        });
    ProviderAdmin.assertNothingOfOurs(s, oldDb);
    ProviderAdmin.assertNothingOfOurs(s, newDb);
  }

  /**
   * Status as the admin where a superuser armed the way back on 13 (pg_subscription.oid is not
   * readable by other roles there): after the switch made the prepared slot it advises
   * {@code reverse}, never {@code cleanup}; once armed it reads the 13 subscription's tables.
   */
  @Test
  void status_preparedWayBackAndSubscriptionOn13_advisesReverseAndReadsForAdmin(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_status");
    ProviderAdmin.shop(pair.oldServer(), db, true);
    ProviderAdmin.shop(pair.newServer(), db, false);
    Replicator admin = ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db);
    Replicator superuser = ProviderAdmin.superuser(pair, db);
    admin.start(options(), new CopyProgress(), CopyListener.NONE);
    superuser.prepareReverse();
    // The switch fences old, then its leader makes the requested slot on new after its barrier, before release.
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.fenceAsASwitch(o);
    }
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.openAsASwitch(n);
    }

    StatusReport.Direction prepared = admin.status().reverse();
    assertThat(prepared.state()).isEqualTo("prepared");
    assertThat(prepared.problems()).anyMatch(p -> p.contains("run `cutover-replicator reverse` to stream from it"))
        .noneMatch(p -> p.contains("run cleanup"));
    superuser.reverse(new Reverse.Options(Duration.ZERO, CATCH_UP));
    try (Connection n = ProviderAdmin.app(pair.newServer(), db)) {
      AppDatabase.execute(n, "INSERT INTO public.note (id, body) VALUES (100001, 'written on new')");
    }
    try (Connection o = pair.oldServer().connect(db)) {
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM public.note WHERE id = 100001") == 1);
    }
    Run status = ProviderAdmin.cli(pair, db, "status");
    assertThat(status.code()).as(status.err()).isZero();
    StatusReport.Direction back = admin.status().reverse();
    assertThat(back.tables()).containsEntry("shop.customer", "ready").containsEntry("public.note", "ready");
    assertThat(back.applyWorkerRunning()).isTrue();
    superuser.cleanup();
  }

  /**
   * A role merely named rds_superuser grants nothing; what it is granted counts through membership;
   * the REPLICATION attribute, which PostgreSQL does not inherit, is asked of the role itself; and
   * the subscription's login is tried before anything starts.
   */
  @Test
  void check_providerRoleName_countsOnlyThroughWhatItGrants(PostgresPair pair) throws Exception {
    PostgresServer s = pair.newServer();
    try (Connection c = s.connect()) {
      AppDatabase.execute(c, "CREATE ROLE rds_superuser NOLOGIN; CREATE ROLE named_admin LOGIN PASSWORD 'pw' IN ROLE rds_superuser");
      AppDatabase.execute(c, "CREATE DATABASE lpname_old OWNER named_admin");
      AppDatabase.execute(c, "CREATE DATABASE lpname_new OWNER named_admin");
    }
    for (String db : List.of("lpname_old", "lpname_new")) {
      try (Connection c = ProviderAdmin.connect(s, db, "named_admin", "pw")) {
        AppDatabase.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
      }
    }
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, s.jdbcUrl("lpname_old"), "named_admin", "pw"))
        .nw(Endpoint.of(Side.NEW, s.jdbcUrl("lpname_new"), "named_admin", "pw"))
        .build();

    // Logical replication's grants, asked for by name: left to choose, check would take trigger capture for a role without REPLICATION.
    assertThat(errors(r.check(List.of(), Capture.LOGICAL))).containsExactlyInAnyOrder(
        "old replication-privilege ALTER ROLE \"named_admin\" REPLICATION, as a superuser (on a managed service, grant its"
            + " replication role instead, e.g. RDS: GRANT rds_replication TO \"named_admin\")",
        "new subscription-privilege GRANT pg_create_subscription TO \"named_admin\", as a superuser",
        "new replica-role-privilege GRANT SET ON PARAMETER session_replication_role TO \"named_admin\", as a superuser");

    try (Connection c = s.connect()) {
      AppDatabase.execute(c, "GRANT pg_create_subscription TO rds_superuser;"
          + " GRANT SET ON PARAMETER session_replication_role TO rds_superuser");
    }
    assertThat(errors(r.check(List.of(), Capture.LOGICAL))).extracting(e -> e.substring(0, e.indexOf(' ', 4))).containsExactly("old replication-privilege");
    try (Connection c = s.connect()) {
      AppDatabase.execute(c, "ALTER ROLE named_admin REPLICATION");
    }
    // Everything is granted now, and check tries the login its subscription would make: this server trusts named_admin.
    assertThat(r.check().findings()).filteredOn(f -> f.severity() == Severity.ERROR).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo("subscription-login");
      assertThat(f.message()).contains("a subscription on new cannot log in to old").contains("password is required");
      assertThat(f.remedy()).contains("let old's pg_hba.conf ask named_admin for a password");
    });
    ProviderAdmin.askForPasswords(s, "named_admin");
    assertThat(errors(r.check())).isEmpty();
  }

  private static List<String> errors(CheckReport report) {
    return report.findings().stream().filter(f -> f.severity() == Severity.ERROR)
        .map(f -> f.side() + " " + f.code() + " " + f.remedy()).toList();
  }

  /**
   * The application owns its schema on old; the admin cannot become it on new, so schema maps
   * ownership to the admin and the application has no privileges there: check names each grant,
   * and after running exactly those, finds nothing more.
   */
  @Test
  void check_appRoleWithoutPrivilegesOnNew_reportsTheExactGrants(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_app");
    try (Connection c = pair.oldServer().connect(db)) {
      AppDatabase.execute(c, "GRANT CREATE ON DATABASE lp_app TO shop_app; GRANT shop_app TO rds_admin");
    }
    try (Connection c = ProviderAdmin.app(pair.oldServer(), db)) {
      AppDatabase.execute(c, ProviderAdmin.SHOP.replace("public.note", "shop.note"));
      AppDatabase.execute(c, ProviderAdmin.SEED.replace("public.note", "shop.note"));
    }
    Run schema = ProviderAdmin.cli(pair, db, "schema");
    assertThat(schema.code()).as(schema.err()).isZero();
    assertThat(schema.out()).contains("ownership mapped to rds_admin: it cannot become postgres, shop_app on new");
    Replicator r = ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db);

    List<Finding> appFindings = r.check(List.of(ProviderAdmin.APP)).findings().stream()
        .filter(f -> f.code().startsWith("app-role")).toList();
    assertThat(appFindings).filteredOn(f -> f.severity() == Severity.ERROR).extracting(Finding::remedy).containsExactlyInAnyOrder(
        "SET cutover.ddl_capture = off; GRANT USAGE ON SCHEMA shop TO \"shop_app\"",
        "SET cutover.ddl_capture = off; GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE shop.customer, shop.note, shop.orders"
            + " TO \"shop_app\"",
        "SET cutover.ddl_capture = off; GRANT USAGE, SELECT, UPDATE ON SEQUENCE shop.customer_id_seq, shop.note_id_seq, shop.orders_id_seq TO \"shop_app\"");
    assertThat(appFindings).filteredOn(f -> f.code().equals("app-role-ownership")).singleElement()
        .satisfies(f -> assertThat(f.remedy()).startsWith("SET cutover.ddl_capture = off; ALTER SCHEMA shop OWNER TO \"shop_app\"; ALTER TABLE shop.customer OWNER TO"));

    try (Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      for (Finding f : appFindings) {
        if (f.severity() == Severity.ERROR) {
          AppDatabase.execute(n, f.remedy());
        }
      }
    }
    assertThat(r.check(List.of(ProviderAdmin.APP)).findings())
        .filteredOn(f -> f.code().startsWith("app-role") && f.severity() == Severity.ERROR).isEmpty();
  }

  /**
   * New reached as its superuser, so schema changes there are captured, and the application role,
   * owner on old, without privileges on new after schema mapped ownership: the statements check
   * prints for new, run there as printed, are no change made on new alone for status to report
   * (r30: 43 of them, 41 from the GRANTs inside one grant_control_plane, each "make it there too or
   * undo it").
   */
  @Test
  void status_checkRemediesRunOnNew_areNoChangesMadeOnNewAlone(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_remedies");
    try (Connection c = pair.oldServer().connect(db)) {
      AppDatabase.execute(c, "GRANT CREATE ON DATABASE lp_remedies TO shop_app; GRANT shop_app TO rds_admin");
    }
    try (Connection c = ProviderAdmin.app(pair.oldServer(), db)) {
      AppDatabase.execute(c, ProviderAdmin.SHOP.replace("public.note", "shop.note"));
      AppDatabase.execute(c, ProviderAdmin.SEED.replace("public.note", "shop.note"));
    }
    Run schema = ProviderAdmin.cli(pair, db, "schema");
    assertThat(schema.code()).as(schema.err()).isZero();
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(db), ProviderAdmin.ADMIN, ProviderAdmin.ADMIN_PASSWORD))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();
    r.start(options(), new CopyProgress(), CopyListener.NONE);

    List<String> remedies = r.check(List.of(ProviderAdmin.APP)).findings().stream()
        .filter(f -> f.side().equals("new") && f.severity() == Severity.ERROR && f.code().startsWith("app-role")).map(Finding::remedy).toList();
    assertThat(remedies).anyMatch(m -> m.contains(" ON TABLE ")).anyMatch(m -> m.contains("grant_control_plane"));
    try (Connection n = pair.newServer().connect(db)) {
      for (String remedy : remedies) {
        AppDatabase.execute(n, remedy.replaceFirst("^as the installer on new: ", ""));
      }
      // As driver.md gives it, without turning capture off first: the function does.
      AppDatabase.execute(n, "SELECT cutover.grant_control_plane('shop_app')");
    }
    assertThat(r.check(List.of(ProviderAdmin.APP)).findings())
        .filteredOn(f -> f.side().equals("new") && f.severity() == Severity.ERROR && f.code().startsWith("app-role")).isEmpty();
    assertThat(r.status().forward().problems()).filteredOn(p -> p.contains("made on new alone")).isEmpty();
    assertThat(remedies).allMatch(m -> m.replaceFirst("^as the installer on new: ", "").startsWith(SchemaChanges.BY_HAND + "; "));
  }

  /**
   * A table created on both sides after start by the admin, whose publication lists its tables:
   * replication does not carry it, so verify cannot compare it, and names it, gives the statement
   * that has it carried and exits 7 rather than "no differences" over 3 rows on old and none on new
   * (r30); catch-up, which said "caught up", names it with the same statement and exits 7 too.
   */
  @Test
  void verifyAndCatchUp_tableOutsideThePublication_namedWithTheStatementThatPublishesItAndNotClean(PostgresPair pair)
      throws Exception {
    String db = ProviderAdmin.database(pair, "lp_uncarried");
    ProviderAdmin.shop(pair.oldServer(), db, true);
    ProviderAdmin.shop(pair.newServer(), db, false);
    Replicator r = ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db);
    r.start(options(), new CopyProgress(), CopyListener.NONE);
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = ProviderAdmin.admin(server, db)) {
        AppDatabase.execute(c, "CREATE TABLE shop.tags (id int PRIMARY KEY, t text)");
      }
    }
    try (Connection o = ProviderAdmin.admin(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO shop.tags SELECT g, 'x' FROM generate_series(1, 3) g");
    }
    String sub = "\"" + Names.of(db).forward() + "\"";
    String publish = "run on old, as the owner of publication " + sub + ": ALTER PUBLICATION " + sub + " ADD TABLE \"shop\".\"tags\"";

    ReplicatorException caughtUp = catchThrowableOfType(ReplicatorException.class, () -> r.awaitCaughtUp(CATCH_UP));
    assertThat(caughtUp).as("catch-up while replication does not carry shop.tags").isNotNull();
    assertThat(caughtUp.failure()).isEqualTo(Failure.DIFFERENCES);
    assertThat(caughtUp.getMessage()).contains("does not carry 1 table(s) of old: shop.tags");
    assertThat(caughtUp.remedy()).contains(publish).contains("REFRESH PUBLICATION");
    Run catchUp = ProviderAdmin.cli(pair, db, "catch-up");
    assertThat(catchUp.code()).as(catchUp.out() + catchUp.err()).isEqualTo(Failure.DIFFERENCES.exitCode());
    assertThat(catchUp.out() + catchUp.err()).contains("shop.tags").contains(publish).doesNotContain("caught up in");

    VerifyReport report = r.verify(Verifier.Options.defaults());
    assertThat(report.differences()).isZero();
    assertThat(report.uncarried()).containsExactly("shop.tags");
    assertThat(report.carry()).contains(publish).contains("REFRESH PUBLICATION");
    assertThat(report.clean()).isFalse();
    Run verify = ProviderAdmin.cli(pair, db, "verify");
    assertThat(verify.code()).as(verify.out() + verify.err()).isEqualTo(Failure.DIFFERENCES.exitCode());
    assertThat(verify.out()).contains("1 table(s) on old not compared, as replication does not carry them")
        .contains("shop.tags").doesNotContain(": no differences\n");
  }

  /**
   * A table created on old after start by the admin, who may not create the event trigger that
   * would add it to the publication (which lists its tables, the admin being no superuser): its
   * writes would not reach new, so the driver's switch refuses, naming it and the statement that
   * publishes it. Once published, it still refuses until new's subscription replicates it (REFRESH
   * PUBLICATION, whose copy must finish); then the switch completes, and the table's rows from
   * before and after are on new.
   */
  @Test
  void switch_tableCreatedAfterStartNotReplicated_refusedUntilPublishedAndSubscribed(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp_late");
    ProviderAdmin.shop(pair.oldServer(), db, true);
    ProviderAdmin.shop(pair.newServer(), db, false);
    ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db).start(options(), new CopyProgress(), CopyListener.NONE);
    String sub = Names.of(db).forward();
    ManualFlag flag = ManualFlag.named(db + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db);
    Properties as = new Properties();
    as.setProperty("user", ProviderAdmin.ADMIN);
    as.setProperty("password", ProviderAdmin.ADMIN_PASSWORD);
    try (SwitchEventQueue events = new SwitchEventQueue(db); Connection app = DriverManager.getConnection(url, as);
        Connection o = ProviderAdmin.admin(pair.oldServer(), db); Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      AppDatabase.execute(n, "CREATE TABLE shop.late (id int PRIMARY KEY)");
      AppDatabase.execute(app, "CREATE TABLE shop.late (id int PRIMARY KEY); INSERT INTO shop.late VALUES (1)");

      flag.set(Target.NEW);
      SwitchEvent unpublished = events.next(CATCH_UP);
      assertThat(unpublished.outcome()).as(unpublished.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(unpublished.summary()).contains("replication does not carry 1 table(s) of the old database to the new database:"
          + " shop.late (not in publication " + sub + ": ALTER PUBLICATION " + sub + " ADD TABLE shop.late on the old database, as its"
          + " owner)");
      flag.set(Target.OLD);

      AppDatabase.execute(o, "ALTER PUBLICATION " + sub + " ADD TABLE shop.late");
      flag.set(Target.NEW);
      // A retry of the first switch, begun before the flag turned back, may have ended meanwhile.
      SwitchEvent unsubscribed = events.next(e -> e.summary().contains("subscription") || e.outcome() == Outcome.COMPLETED, CATCH_UP);
      assertThat(unsubscribed).as("a switch event").isNotNull();
      assertThat(unsubscribed.outcome()).as(unsubscribed.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(unsubscribed.summary()).contains("shop.late (not replicated by subscription " + sub + " yet: ALTER SUBSCRIPTION "
          + sub + " REFRESH PUBLICATION WITH (copy_data = true) on the new database)");
      flag.set(Target.OLD);

      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " REFRESH PUBLICATION WITH (copy_data = true)");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_subscription_rel"
          + " WHERE srrelid = 'shop.late'::regclass AND srsubstate = 'r'") == 1);
      flag.set(Target.NEW);
      SwitchEvent completed = events.next(e -> e.outcome() == Outcome.COMPLETED, CATCH_UP);
      assertThat(completed).as("a completed switch").isNotNull();
      assertThat(completed.outcome()).as(completed.summary()).isEqualTo(Outcome.COMPLETED);
      AppDatabase.execute(app, "INSERT INTO shop.late VALUES (2)");
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM shop.late")).as("written on old before the switch, and on new after")
          .isEqualTo(2);
    } finally {
      CutoverDriver.shutdown(db);
    }
  }

  /**
   * A table with a serial key created on old after start by the admin, where nothing captures it
   * and the publication lists its tables. Status prints statements for new that make its sequence
   * before the table (before, they failed: relation "shop.tags_id_seq" does not exist), and, before
   * the REFRESH, the ALTER PUBLICATION that old's publication needs. Once new has the table, status
   * still names it, with the statements that carry it, until they are run (before, it named
   * nothing while old held rows new had not); then its rows arrive.
   */
  @Test
  void status_serialTableCreatedOnOldAfterStart_printsItsSequenceAndPublicationAndNamesItUntilCarried(PostgresPair pair)
      throws Exception {
    String db = ProviderAdmin.database(pair, "lp_serial");
    ProviderAdmin.shop(pair.oldServer(), db, true);
    ProviderAdmin.shop(pair.newServer(), db, false);
    Replicator r = ProviderAdmin.replicator(pair.oldServer(), db, pair.newServer(), db);
    r.start(options(), new CopyProgress(), CopyListener.NONE);
    String sub = "\"" + Names.of(db).forward() + "\"";
    String publish = "run on old, as the owner of publication " + sub + ": ALTER PUBLICATION " + sub + " ADD TABLE \"shop\".\"tags\"";
    String refresh = "ALTER SUBSCRIPTION " + sub + " REFRESH PUBLICATION WITH (copy_data = true)";
    try (Connection o = ProviderAdmin.admin(pair.oldServer(), db); Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      AppDatabase.execute(o, "CREATE TABLE shop.tags (id serial PRIMARY KEY, t text); INSERT INTO shop.tags (t) VALUES ('a'), ('b')");

      List<String> problems = r.status().forward().problems();
      String missing = problems.stream().filter(p -> p.startsWith("table shop.tags is on old but not on new")).findFirst().orElseThrow();
      AppDatabase.execute(n, missing.substring(missing.indexOf("else run on new: ") + "else run on new: ".length()));
      assertThat(problems).anyMatch(p -> p.contains(publish) && p.indexOf(publish) < p.indexOf(refresh));

      assertThat(r.status().forward().problems()).as("new has the table; replication still does not carry it")
          .anyMatch(p -> p.startsWith("table(s) shop.tags on old are not in old's publication") && p.contains(publish)
              && p.indexOf(publish) < p.indexOf(refresh));

      AppDatabase.execute(o, "ALTER PUBLICATION " + sub + " ADD TABLE shop.tags");
      AppDatabase.execute(n, refresh);
      AppDatabase.execute(o, "INSERT INTO shop.tags (t) VALUES ('c')");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(AppDatabase.strings(n, "SELECT string_agg(id || t, ',' ORDER BY id) FROM shop.tags")).containsExactly("1a,2b,3c");
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("shop.tags"));
    }
  }
}
