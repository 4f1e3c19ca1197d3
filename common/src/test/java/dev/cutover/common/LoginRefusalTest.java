package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The refusals' texts as PostgreSQL 17, PgJDBC and libpq word them in English. */
class LoginRefusalTest {
  @Test
  void of_pgHbaConf_notAdmitted() {
    String noEntry = "FATAL: no pg_hba.conf entry for host \"10.0.0.9\", user \"app\", database \"app\", no encryption";
    assertThat(LoginRefusal.of("28000", noEntry, true)).isEqualTo(LoginRefusal.NOT_ADMITTED);
    assertThat(LoginRefusal.of("28000", "FATAL: pg_hba.conf rejects connection for host \"127.0.0.1\", user \"app\"", true))
        .isEqualTo(LoginRefusal.NOT_ADMITTED);
  }

  @Test
  void of_noLoginRole_loginNotPermitted() {
    assertThat(LoginRefusal.of("28000", "FATAL: role \"app\" is not permitted to log in", true))
        .isEqualTo(LoginRefusal.LOGIN_NOT_PERMITTED);
  }

  @Test
  void of_missingRole_noSuchRole() {
    assertThat(LoginRefusal.of("28000", "FATAL: role \"gone\" does not exist", true)).isEqualTo(LoginRefusal.NO_SUCH_ROLE);
    assertThat(LoginRefusal.of("3D000", "FATAL: database \"gone\" does not exist", true)).isEqualTo(LoginRefusal.OTHER);
  }

  @Test
  void of_wrongOrExpiredPassword_orAnotherClass28_credentialsRefused() {
    assertThat(LoginRefusal.of("28P01", "FATAL: password authentication failed for user \"app\"", true))
        .isEqualTo(LoginRefusal.CREDENTIALS_REFUSED);
    assertThat(LoginRefusal.of("28000", "FATAL: Ident authentication failed for user \"app\"", true))
        .isEqualTo(LoginRefusal.CREDENTIALS_REFUSED);
    // a translated server's text matches nothing: its SQLState still gives the general cause
    assertThat(LoginRefusal.of("28000", "FATAL: la función «app» no tiene permitido conectarse", true))
        .isEqualTo(LoginRefusal.CREDENTIALS_REFUSED);
  }

  @Test
  void of_tooManyConnections_roleOrServerLimit() {
    assertThat(LoginRefusal.of("53300", "FATAL: too many connections for role \"app\"", true))
        .isEqualTo(LoginRefusal.ROLE_CONNECTION_LIMIT);
    assertThat(LoginRefusal.of("53300", "FATAL: sorry, too many clients already", true)).isEqualTo(LoginRefusal.SERVER_CONNECTION_LIMIT);
    assertThat(LoginRefusal.of("53300", "FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute", true))
        .isEqualTo(LoginRefusal.SERVER_CONNECTION_LIMIT);
    assertThat(LoginRefusal.of("53300", "FATAL: too many connections for database \"app\"", true)).isEqualTo(LoginRefusal.OTHER);
  }

  @Test
  void of_passwordAskedNoneGiven_noPasswordGiven() {
    String pgjdbc = "The server requested SCRAM-based authentication, but no password was provided.";
    assertThat(LoginRefusal.of("08004", pgjdbc, false)).isEqualTo(LoginRefusal.NO_PASSWORD_GIVEN);
    assertThat(LoginRefusal.of("08004", pgjdbc, true)).isEqualTo(LoginRefusal.OTHER);
    assertThat(LoginRefusal.of("08004", "The server does not support SSL.", false)).isEqualTo(LoginRefusal.OTHER);
  }

  @Test
  void of_libpqTextWithoutSqlState_decidedByTheText() {
    String at = "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  ";
    assertThat(LoginRefusal.of(null, at + "pg_hba.conf rejects connection for host \"127.0.0.1\"", true))
        .isEqualTo(LoginRefusal.NOT_ADMITTED);
    assertThat(LoginRefusal.of("", at + "role \"app\" is not permitted to log in", true)).isEqualTo(LoginRefusal.LOGIN_NOT_PERMITTED);
    assertThat(LoginRefusal.of("", at + "role \"app\" does not exist", true)).isEqualTo(LoginRefusal.NO_SUCH_ROLE);
    assertThat(LoginRefusal.of("", at + "password authentication failed for user \"app\"", true))
        .isEqualTo(LoginRefusal.CREDENTIALS_REFUSED);
    assertThat(LoginRefusal.of("", at + "too many connections for role \"app\"", true)).isEqualTo(LoginRefusal.ROLE_CONNECTION_LIMIT);
    assertThat(LoginRefusal.of("", at + "sorry, too many clients already", true)).isEqualTo(LoginRefusal.SERVER_CONNECTION_LIMIT);
    assertThat(LoginRefusal.of("", at + "fe_sendauth: no password supplied", false)).isEqualTo(LoginRefusal.NO_PASSWORD_GIVEN);
    assertThat(LoginRefusal.of("", "could not translate host name \"db\" to address", false)).isEqualTo(LoginRefusal.OTHER);
  }

  @Test
  void serverRemedy_namesTheRoleQuotedInTheSql_andOnlyForTheServersCauses() {
    assertThat(LoginRefusal.LOGIN_NOT_PERMITTED.serverRemedy("App")).contains("ALTER ROLE \"App\" LOGIN");
    assertThat(LoginRefusal.NO_SUCH_ROLE.serverRemedy("App")).contains("CREATE ROLE \"App\" LOGIN");
    assertThat(LoginRefusal.CREDENTIALS_REFUSED.serverRemedy("App")).startsWith("or its password expired (VALID UNTIL)")
        .contains("ALTER ROLE \"App\" VALID UNTIL");
    assertThat(LoginRefusal.ROLE_CONNECTION_LIMIT.serverRemedy(null)).contains("ALTER ROLE <role> CONNECTION LIMIT");
    assertThat(LoginRefusal.LOGIN_NOT_PERMITTED.serverRemedy("app\0")).startsWith("the role may not log in")
        .contains("ALTER ROLE <role> LOGIN");
    assertThat(LoginRefusal.SERVER_CONNECTION_LIMIT.serverRemedy("App")).contains("max_connections");
    assertThat(LoginRefusal.NOT_ADMITTED.serverRemedy("App")).isNull();
    assertThat(LoginRefusal.NO_PASSWORD_GIVEN.serverRemedy("App")).isNull();
    assertThat(LoginRefusal.OTHER.serverRemedy("App")).isNull();
  }
}
