package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConnectionStringTest {

  @Test
  void parse_jdbcUrl_unchanged() {
    ConnectionString c = ConnectionString.parse("jdbc:postgresql://db:5432/app?sslmode=require");
    assertThat(c.jdbcUrl()).isEqualTo("jdbc:postgresql://db:5432/app?sslmode=require");
    assertThat(c.user()).isNull();
  }

  @Test
  void parse_uriWithCredentialsAndParameters_jdbcUrlAndCredentialsApart() {
    ConnectionString c = ConnectionString.parse(
        "postgres://app_admin:p%40ss%3Aw0rd@db.internal:6432/app%20db?sslmode=require&application_name=mover");

    assertThat(c.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6432/app%20db?sslmode=require&ApplicationName=mover");
    assertThat(c.user()).isEqualTo("app_admin");
    assertThat(c.password()).isEqualTo("p@ss:w0rd");
    assertThat(c.toString()).doesNotContain("p@ss").contains("password ***");
  }

  @Test
  void parse_postgresqlSchemeWithoutPortOrUser_defaults() {
    ConnectionString c = ConnectionString.parse("postgresql://db/app");
    assertThat(c.jdbcUrl()).isEqualTo("jdbc:postgresql://db/app");
    assertThat(c.user()).isNull();
    assertThat(c.password()).isNull();
  }

  @Test
  void parse_keyValueWithQuotesAndEscapes_jdbcUrlAndCredentialsApart() {
    ConnectionString c = ConnectionString.parse(
        "host=db.internal port=5433 dbname=app user=admin password='it\\'s a \\\\ slash' sslmode=verify-full connect_timeout=5");

    assertThat(c.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5433/app?sslmode=verify-full&connectTimeout=5");
    assertThat(c.user()).isEqualTo("admin");
    assertThat(c.password()).isEqualTo("it's a \\ slash");
  }

  @Test
  void parse_unterminatedQuote_failsWithoutThePassword() {
    assertThatThrownBy(() -> ConnectionString.parse("host=db password='s3cret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has no closing quote")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));
  }

  @Test
  void parse_somethingElse_namesTheThreeForms() {
    assertThatThrownBy(() -> ConnectionString.parse("mysql:db"))
        .hasMessageContaining("neither a PostgreSQL JDBC URL");
  }

  @Test
  void endpoint_uriCredentials_winOverDefaultsAndNeverShow() {
    Endpoint e = Endpoint.of(Side.OLD, "postgres://mover:hunter2@db:5432/app", "from-env", "env-password");

    assertThat(e.user()).isEqualTo("mover");
    assertThat(e.password()).isEqualTo("hunter2");
    assertThat(e.toString()).doesNotContain("hunter2").contains("jdbc:postgresql://db:5432/app");
    assertThat(e.conninfo()).contains("password='hunter2'").contains("dbname='app'");
  }

  /**
   * A string that does not parse is never echoed, masked or not: the mask cannot know where a
   * value that did not parse ends. Before, the message quoted it with most of the password (r26).
   */
  @Test
  void parse_malformed_namesTheReasonWithoutEchoingTheString() {
    String[][] cases = {
        {"host=127.0.0.1 dbname=kl user=admin password='correct horse battery staple", "password has no closing quote"},
        {"host=127.0.0.1 dbname=kl user=admin password=correct horse battery", "has no '='"},
        {"postgres://admin:correct%zzhorse@db/app", "malformed percent-escape"},
        {"correct horse battery staple", "neither a PostgreSQL JDBC URL"}};
    for (String[] c : cases) {
      assertThatThrownBy(() -> ConnectionString.parse(c[0])).as(c[0])
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(c[1])
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("horse").doesNotContain("127.0.0.1"));
    }
  }
}
