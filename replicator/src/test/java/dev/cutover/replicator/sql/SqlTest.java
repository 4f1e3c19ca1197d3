package dev.cutover.replicator.sql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SqlTest {
  @Test
  void qualified_schemaAndName_eachQuoted() {
    assertThat(Sql.qualified("my schema", "select")).isEqualTo("\"my schema\".\"select\"");
  }

  @Test
  void maskSecrets_urlsAndConninfo_hidePasswordsOnly() {
    assertThat(Sql.maskSecrets("jdbc:postgresql://h/db?user=a&password=hunter2&ssl=true"))
        .isEqualTo("jdbc:postgresql://h/db?user=a&password=***&ssl=true");
    assertThat(Sql.maskSecrets("host='h' password='p\\'w d' dbname='x'")).isEqualTo("host='h' password=*** dbname='x'");
    assertThat(Sql.maskSecrets("postgresql://bob:hunter2@h/db")).isEqualTo("postgresql://bob:***@h/db");
    assertThat(Sql.maskSecrets("PGPASSWORD=\"$CUTOVER_REPLICATOR_OLD_PASSWORD\" pg_dump")).isEqualTo("PGPASSWORD=\"$CUTOVER_REPLICATOR_OLD_PASSWORD\" pg_dump");
  }
}
