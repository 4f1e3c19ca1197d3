package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The PgJDBC these tests run on is the one the build meant: the default execution the newest
 * supported, the {@code pgjdbc-lowest} execution the oldest ({@code cutover.pgjdbc.expected}).
 * Without this, a class path mix-up would pass the range run on the wrong version.
 */
class PgJdbcVersionTest {
  @Test
  void pgjdbc_onTheClassPath_isTheVersionUnderTest() {
    String expected = System.getProperty("cutover.pgjdbc.expected");
    String actual = org.postgresql.Driver.class.getPackage().getImplementationVersion();
    System.out.println("[pgjdbc] running on PgJDBC " + actual + " (expected " + expected + ")");
    if (expected != null) {
      assertThat(actual).isEqualTo(expected);
    } else {
      assertThat(actual).isNotBlank();
    }
  }
}
