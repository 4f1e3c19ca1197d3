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

  /**
   * A libpq value is masked as libpq reads it: a quoted one up to its unescaped closing quote (to
   * the end where there is none), an unquoted one up to unescaped whitespace, {@code ;} and
   * {@code &} included. The mask stopped at the first blank, {@code ;} or {@code &} and showed the
   * rest (r26).
   */
  @Test
  void maskConninfo_valuesAsLibpqReadsThem_maskedWhole() {
    assertThat(Sql.maskConninfo("host=h port=1 user=admin password='correct horse battery staple"))
        .isEqualTo("host=h port=1 user=admin password=***");
    assertThat(Sql.maskConninfo("host=h user=admin password=correct\\ horse\\ battery sslmode"))
        .isEqualTo("host=h user=admin password=*** sslmode");
    assertThat(Sql.maskConninfo("host=h user=admin password=ab;cd&ef sslmode")).isEqualTo("host=h user=admin password=*** sslmode");
    assertThat(Sql.maskConninfo("password=stale\\ horse\\ battery host=h")).isEqualTo("password=*** host=h");
    assertThat(Sql.maskConninfo("password='a\\\\' dbname=x")).isEqualTo("password=*** dbname=x");
    assertThat(Sql.maskConninfo("password='it\\'s a secret' dbname=x")).isEqualTo("password=*** dbname=x");
    assertThat(Sql.maskConninfo("host=h password = 'x y' sslpassword=k\\ ey dbname=x"))
        .isEqualTo("host=h password = *** sslpassword=*** dbname=x");
    // libpq skips blanks after '=': the next word is the value
    assertThat(Sql.maskConninfo("host=h password= secret dbname=x")).isEqualTo("host=h password= *** dbname=x");
    for (String text : new String[] {"host=h password='correct horse battery staple", "password=correct\\ horse\\ battery sslmode",
        "password=ab;cd&ef sslmode", "ALTER SUBSCRIPTION s CONNECTION 'password=stale\\ horse\\ battery host=h'"}) {
      assertThat(Sql.maskSecrets(text)).as(text).doesNotContain("horse").doesNotContain("cd").doesNotContain("ef ");
    }
  }

  @Test
  void maskSecrets_urlPasswordHoldingSemicolon_maskedToTheNextAmpersandAndTheRestOfTheMessageKept() {
    assertThat(Sql.maskSecrets("old: cannot connect to jdbc:postgresql://h/kl?user=semi&password=abc;defSECRET&ssl=true (FATAL: no)"))
        .isEqualTo("old: cannot connect to jdbc:postgresql://h/kl?user=semi&password=***&ssl=true (FATAL: no)");
    assertThat(Sql.maskSecrets("cannot connect to jdbc:postgresql://h/kl?password=*** (FATAL: database \"x\" does not exist)"))
        .isEqualTo("cannot connect to jdbc:postgresql://h/kl?password=*** (FATAL: database \"x\" does not exist)");
  }
}
