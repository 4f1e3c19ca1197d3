package dev.cutover.replicator.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SqlTest {
  @Test
  void ident_nameWithQuotesAndCase_isDoubleQuotedWithQuotesDoubled() {
    assertThat(Sql.ident("Order \"Lines\"")).isEqualTo("\"Order \"\"Lines\"\"\"");
    assertThat(Sql.qualified("my schema", "select")).isEqualTo("\"my schema\".\"select\"");
  }

  @Test
  void literal_quote_isDoubled() {
    assertThat(Sql.literal("it's")).isEqualTo("'it''s'");
  }

  @Test
  void conninfoValue_quotesAndBackslashes_areEscaped() {
    assertThat(Sql.conninfoValue("p'a\\ss word")).isEqualTo("'p\\'a\\\\ss word'");
  }

  @Test
  void ident_nulCharacter_isRejected() {
    assertThatThrownBy(() -> Sql.ident("a\0b")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NUL");
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
