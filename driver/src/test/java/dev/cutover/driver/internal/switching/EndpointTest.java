package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

@LeakCheckedPair
class EndpointTest {

  /**
   * A database whose transactions are SERIALIZABLE by default (ALTER DATABASE SET, as some teams
   * run every database): the switch's own sessions run READ COMMITTED, which the control schema's
   * functions are written for, while application connections keep the database's default.
   */
  @Test
  void forSwitch_databaseSerializableByDefault_onlyTheSwitchsSessionsReadCommitted(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String database = server.createDatabase("endpoint_serializable");
    try (Connection admin = server.connect(); Statement s = admin.createStatement()) {
      s.execute("ALTER DATABASE endpoint_serializable SET default_transaction_isolation = 'serializable'");
    }
    Properties login = new Properties();
    login.setProperty("user", server.user());
    login.setProperty("password", server.password());
    Endpoint application = new Endpoint(Target.OLD, server.jdbcUrl(database), login);

    try (Connection app = application.open(); Connection control = application.forSwitch(Duration.ofSeconds(5), Duration.ofSeconds(5)).open()) {
      assertThat(isolation(app)).isEqualTo("serializable");
      assertThat(isolation(control)).isEqualTo("read committed");
    }
  }

  /**
   * r27 D2: the application's role caps statements, lock waits, idle transactions and idle
   * sessions (and, from 17, transactions) in its database, and its path names public, where
   * another role may create functions: the switch's own sessions turn every cap the server has off
   * and search only the catalog, while application connections keep the role's settings.
   */
  @Test
  void forSwitch_roleCapsEveryTimeout_switchsSessionsTurnTheCapsOffAndSearchOnlyTheCatalog(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String database = server.createDatabase("endpoint_caps");
    String caps = "name = ANY ('{statement_timeout,lock_timeout,idle_in_transaction_session_timeout,idle_session_timeout,"
        + "transaction_timeout}')";
    try (Connection admin = server.connect(database); Statement s = admin.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE endpoint_capped LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      s.execute("DO $$ DECLARE n text; BEGIN FOR n IN SELECT name FROM pg_settings WHERE " + caps + " LOOP"
          + " EXECUTE format('ALTER ROLE endpoint_capped IN DATABASE endpoint_caps SET %I = %L', n, '3s'); END LOOP; END $$");
    }
    Properties login = new Properties();
    login.setProperty("user", "endpoint_capped");
    Endpoint application = new Endpoint(Target.OLD, server.jdbcUrl(database), login);

    try (Connection app = application.open();
        Connection control = application.forSwitch(Duration.ofSeconds(5), Duration.ofSeconds(5)).open()) {
      String settings = "SELECT string_agg(DISTINCT setting, ',') FROM pg_settings WHERE " + caps;
      assertThat(text(app, settings)).isEqualTo("3000");
      assertThat(text(control, settings)).isEqualTo("0");
      String path = "SELECT array_to_string(current_schemas(true), ',')";
      assertThat(text(app, path)).isEqualTo("pg_catalog,public");
      assertThat(text(control, path)).isEqualTo("pg_catalog");
    }
  }

  /**
   * A login the new database refuses named the side and the URL but neither the setting that gives
   * it nor what to do: pg_hba.conf admitting no such client (28000) reads like a password problem,
   * and a server that asks for a password none was given (PgJDBC's 08004) like an unreachable one.
   * Now each names cutover.new.url and its own remedy, never the password.
   */
  @Test
  void open_loginRefused_namesTheSettingAndTheRemedyForItsCause(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection admin = server.connect(); Statement s = admin.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE endpoint_rejected LOGIN PASSWORD 'role-S3cret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      s.execute("DO $$ BEGIN CREATE ROLE endpoint_asked LOGIN PASSWORD 'role-S3cret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    Path hba;
    try (Connection admin = server.connect()) {
      hba = Path.of(text(admin, "SHOW hba_file"));
    }
    String original = Files.readString(hba);
    writeHba(server, hba, "host all endpoint_rejected all reject\nhost all endpoint_asked all md5\n" + original);
    try {
      Properties rejected = new Properties();
      rejected.setProperty("user", "endpoint_rejected");
      rejected.setProperty("password", "role-S3cret");
      // the reload is in force once a login is refused
      String refused = await().atMost(Duration.ofSeconds(20)).until(() -> refusal(server, rejected), m -> m.contains("pg_hba.conf rejects connection"));
      assertThat(refused).contains("cannot connect to the new database").contains("(cutover.new.url): ")
          .endsWith("; the new database's server does not admit this host, user and database: add a line for them to its"
              + " pg_hba.conf and run SELECT pg_reload_conf() there, or connect from an address it admits (on a managed service:"
              + " its network or security-group settings)")
          .doesNotContain("S3cret");
      Properties asked = new Properties();
      asked.setProperty("user", "endpoint_asked");
      assertThat(refusal(server, asked)).contains("(cutover.new.url): ").contains("no password was provided")
          .endsWith("; the new database's server asks for a password and none was given: give it in cutover.new.url or"
              + " cutover.new.password");
    } finally {
      writeHba(server, hba, original);
    }
  }

  /**
   * r34: a role made NOLOGIN on new ({@code ALTER ROLE app NOLOGIN}) was told to "check the user
   * and password", which are right; and a role at its CONNECTION LIMIT got no remedy at all. Each
   * now names the statement that lets the role in, the role quoted.
   */
  @Test
  void open_loginRefusedForTheRoleItself_namesTheAlterRoleThatLetsItIn(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection admin = server.connect(); Statement s = admin.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE endpoint_nologin NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      s.execute("DO $$ BEGIN CREATE ROLE endpoint_limited LOGIN CONNECTION LIMIT 0; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    Properties nologin = new Properties();
    nologin.setProperty("user", "endpoint_nologin");
    assertThat(refusal(server, nologin)).contains("(cutover.new.url): ").contains("is not permitted to log in")
        .endsWith("; the new database's server: role \"endpoint_nologin\" may not log in (NOLOGIN): run ALTER ROLE"
            + " \"endpoint_nologin\" LOGIN there, or log in as a role that may")
        .doesNotContain("check the user and password");
    Properties limited = new Properties();
    limited.setProperty("user", "endpoint_limited");
    assertThat(refusal(server, limited)).contains("(cutover.new.url): ").contains("too many connections for role")
        .contains("; the new database's server: role \"endpoint_limited\" has all the connections its CONNECTION LIMIT allows")
        .contains("ALTER ROLE \"endpoint_limited\" CONNECTION LIMIT");
  }

  private static String refusal(PostgresServer server, Properties login) {
    SQLException e = catchThrowableOfType(SQLException.class, () -> new Endpoint(Target.NEW, server.jdbcUrl(), login).open().close());
    assertThat((Throwable) e).as("refused").isNotNull();
    return e.getMessage();
  }

  private static void writeHba(PostgresServer server, Path hba, String text) throws Exception {
    Files.writeString(hba, text);
    try (Connection admin = server.connect(); Statement s = admin.createStatement()) {
      s.execute("SELECT pg_reload_conf()");
    }
  }

  private static String text(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static String isolation(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW transaction_isolation")) {
      rs.next();
      return rs.getString(1);
    }
  }
}
