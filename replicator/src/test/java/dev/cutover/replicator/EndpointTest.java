package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class EndpointTest {
  /** The end of a refused password's remedy for no_such_role: an expired one is refused as a wrong one is. */
  private static final String EXPIRED = ", or its password expired (VALID UNTIL): run ALTER ROLE \"no_such_role\" VALID UNTIL"
      + " 'infinity' there (or a later date)";

  @Test
  void conninfo_fromJdbcUrl_quotesEveryValueAndKeepsSslmode() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:postgresql://db.internal:6432/app?sslmode=require", "o'brien", "p'w\\x");
    assertThat(e.conninfo()).isEqualTo("host='db.internal' port='6432' dbname='app' user='o\\'brien' password='p\\'w\\\\x'"
        + " sslmode='require'");
  }

  @Test
  void conninfo_given_isUsedAsIs() {
    Endpoint e = Endpoint.of(Side.NEW, "jdbc:postgresql://localhost/app", "u", null).withConninfo("host=10.0.0.5 dbname=app");
    assertThat(e.conninfo()).isEqualTo("host=10.0.0.5 dbname=app");
  }

  @Test
  void toString_passwordInUrlOrApart_isMasked() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:postgresql://h/app?password=hunter2", "u", "other-secret");
    assertThat(e.toString()).doesNotContain("hunter2").doesNotContain("other-secret").contains("password=***");
  }

  @Test
  void connect_cutoverUrl_failsWithConnectionFailureAndRemedy() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:cutover:postgresql://h/app", null, null);
    org.assertj.core.api.Assertions.assertThatThrownBy(e::connect)
        .isInstanceOfSatisfying(ReplicatorException.class, x -> {
          assertThat(x.failure()).isEqualTo(Failure.CONNECTION);
          assertThat(x.remedy()).contains("plain jdbc:postgresql: URL");
        });
  }

  /**
   * PgJDBC lets a {@code user} (and {@code password}) in the URL win over the one given apart, so the
   * endpoint names the role its sessions are: pg_dump's {@code --username}, the subscription's
   * conninfo and the messages that name the role. Before, they named {@code --old-user}'s.
   */
  @Test
  void user_inTheJdbcUrl_winsOverTheOneGivenApart_asPgJdbcConnects(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    try (Connection admin = server.connect()) {
      Sql.execute(admin, "DO $$ BEGIN CREATE ROLE url_named LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    Endpoint e = Endpoint.of(Side.OLD, server.jdbcUrl() + "?user=url_named&password=in-url", server.user(), "apart");
    try (Connection c = e.connect()) {
      assertThat(Sql.string(c, "SELECT current_user")).isEqualTo("url_named");
    }
    assertThat(e.user()).isEqualTo("url_named");
    assertThat(e.password()).isEqualTo("in-url");
    assertThat(e.conninfo()).contains("user='url_named' password='in-url'");
    assertThat(e.toString()).endsWith(" as url_named").doesNotContain("in-url");
  }

  /**
   * A refused login (class 28) was told to "check --old-user and the password in
   * CUTOVER_REPLICATOR_OLD_PASSWORD" where the user or password that failed came from the URL, URI
   * or key=value string, which win over those. The remedy names where each came from, and never
   * the password.
   */
  @Test
  void connect_loginRefused_remedyNamesWhereTheUserAndPasswordCameFrom(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    // asked for a password, a missing role is refused as a wrong password is (28P01), as production servers do
    ProviderAdmin.askForPasswords(server, "no_such_role");
    String hostPort = server.host() + ":" + server.port();
    assertThat(refusal(Endpoint.of(Side.OLD, server.jdbcUrl() + "?user=no_such_role&password=url-S3cret", server.user(), "apart-S3cret")))
        .startsWith("check the user and the password in --old-url")
        .contains("win over --old-user and CUTOVER_REPLICATOR_OLD_PASSWORD");
    assertThat(refusal(Endpoint.of(Side.NEW, "host=" + server.host() + " port=" + server.port() + " dbname=postgres user=no_such_role"
        + " password=kv-S3cret", server.user(), "apart-S3cret"))).startsWith("check the user and the password in --new-url");
    assertThat(refusal(Endpoint.of(Side.OLD, "postgres://no_such_role@" + hostPort + "/postgres", server.user(), "apart-S3cret")))
        .isEqualTo("check the user in --old-url (it wins over --old-user) and the password in CUTOVER_REPLICATOR_OLD_PASSWORD" + EXPIRED);
    assertThat(refusal(Endpoint.of(Side.OLD, server.jdbcUrl() + "?password=url-S3cret", "no_such_role", "apart-S3cret")))
        .isEqualTo("check --old-user and the password in --old-url (it wins over CUTOVER_REPLICATOR_OLD_PASSWORD)" + EXPIRED);
    assertThat(refusal(Endpoint.of(Side.OLD, server.jdbcUrl(), "no_such_role", "apart-S3cret")))
        .isEqualTo("check --old-user and the password in CUTOVER_REPLICATOR_OLD_PASSWORD" + EXPIRED);
  }

  /**
   * r34: a role made NOLOGIN was told to check the user and the password, which are right; a role
   * the server does not have (under trust, 28000 "role … does not exist") likewise. Each now names
   * the statement to run on that side, the role quoted, or where the user came from.
   */
  @Test
  void connect_loginRefusedForTheRoleItself_remedyNamesTheStatementThatLetsItIn(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection admin = server.connect()) {
      Sql.execute(admin, "DO $$ BEGIN CREATE ROLE nologin_role NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    ReplicatorException x = org.assertj.core.api.Assertions.catchThrowableOfType(ReplicatorException.class,
        Endpoint.of(Side.NEW, server.jdbcUrl(), "nologin_role", null)::connect);
    assertThat(x.getMessage()).contains("new: ").contains("is not permitted to log in");
    assertThat(x.remedy()).isEqualTo("new's server: role \"nologin_role\" may not log in (NOLOGIN): run ALTER ROLE \"nologin_role\""
        + " LOGIN there, or log in as a role that may");
    ReplicatorException missing = org.assertj.core.api.Assertions.catchThrowableOfType(ReplicatorException.class,
        Endpoint.of(Side.NEW, server.jdbcUrl() + "?user=missing_role", server.user(), null)::connect);
    assertThat(missing.remedy()).isEqualTo("new's server: there is no role \"missing_role\" there: create it (CREATE ROLE"
        + " \"missing_role\" LOGIN PASSWORD '…'), or fix the user in --new-url (it wins over --new-user)");
  }

  /**
   * PostgreSQL refuses with 28000 where pg_hba.conf admits the client's address, user and database
   * by no line or by a {@code reject} line ("pg_hba.conf rejects connection for host ..."): no
   * password was checked, and the remedy told to check it. Now it names that side's pg_hba.conf
   * and the reload.
   */
  @Test
  void connect_pgHbaRejects_remedyNamesThatSidesPgHbaConf(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection admin = server.connect()) {
      Sql.execute(admin, "DO $$ BEGIN CREATE ROLE hba_rejected LOGIN PASSWORD 'role-S3cret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    ProviderAdmin.authenticateFirst(server, "reject", "hba_rejected");
    ReplicatorException x = org.assertj.core.api.Assertions.catchThrowableOfType(ReplicatorException.class,
        Endpoint.of(Side.NEW, server.jdbcUrl(), "hba_rejected", "role-S3cret")::connect);
    assertThat(x.getMessage()).contains("new: ").contains("pg_hba.conf rejects connection").contains("hba_rejected");
    assertThat(x.remedy()).startsWith("new's server does not admit this host, user and database: add a line for them to new's pg_hba.conf")
        .contains("SELECT pg_reload_conf()").doesNotContain("check --new-user");
    assertThat(x.getMessage() + x.remedy()).doesNotContain("S3cret");
  }

  /**
   * A server that asks for a password where none was given: PgJDBC refuses before sending one, with
   * 08004 ("The server requested password-based authentication, but no password was provided by
   * plugin null", or SCRAM-based), which got class 08's "check host and port". Now the remedy says
   * where to give the password.
   */
  @Test
  void connect_passwordAskedNoneGiven_remedyNamesWhereToGiveIt(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    try (Connection admin = server.connect()) {
      Sql.execute(admin, "DO $$ BEGIN CREATE ROLE password_asked LOGIN PASSWORD 'role-S3cret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    ProviderAdmin.askForPasswords(server, "password_asked");
    ReplicatorException x = org.assertj.core.api.Assertions.catchThrowableOfType(ReplicatorException.class,
        Endpoint.of(Side.OLD, server.jdbcUrl(), "password_asked", null)::connect);
    assertThat(x.getMessage()).contains("old: ").contains("no password was provided");
    assertThat(x.remedy()).isEqualTo("old's server asks for a password and none was given: set CUTOVER_REPLICATOR_OLD_PASSWORD"
        + " (or give it in --old-url)");
  }

  /** The remedy of {@code e}'s refused login, its message and remedy checked for the passwords. */
  private static String refusal(Endpoint e) {
    ReplicatorException x = org.assertj.core.api.Assertions.catchThrowableOfType(ReplicatorException.class, e::connect);
    assertThat(x).as(e.toString()).isNotNull();
    assertThat(x.failure()).isEqualTo(Failure.CONNECTION);
    assertThat(x.getMessage()).contains("no_such_role");
    assertThat(x.getMessage() + x.remedy()).doesNotContain("S3cret");
    return x.remedy();
  }

  @Test
  void names_label_isSanitisedForSlotNames() {
    Names n = Names.of("My-App.Prod");
    assertThat(n.forwardSlot()).isEqualTo("cutover_fwd_my_app_prod");
    assertThat(n.reverseSlot()).isEqualTo("cutover_rev_my_app_prod");
  }
}
