package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** A data source without a usable URL says so, whichever getConnection is called. */
class CutoverDataSourceTest {

  @Test
  void getConnectionWithCredentials_noUrl_failsNamingTheSetter() {
    CutoverDataSource ds = new CutoverDataSource();
    assertThatThrownBy(() -> ds.getConnection("app", "secret"))
        .isInstanceOfSatisfying(SQLException.class, e -> org.assertj.core.api.Assertions.assertThat(e.getSQLState())
            .isEqualTo("22023"))
        .hasMessageContaining("setUrl")
        .hasMessageNotContaining("secret");
    assertThatThrownBy(ds::getConnection).hasMessageContaining("jdbc:cutover:postgresql://");
  }

  @Test
  void getConnection_plainPostgresUrl_isRefusedRatherThanReturningNull() {
    CutoverDataSource ds = new CutoverDataSource();
    ds.setUrl("jdbc:postgresql://localhost/app?password=secret");
    assertThatThrownBy(() -> ds.getConnection(null, null))
        .hasMessageContaining("jdbc:postgresql://localhost/app")
        .hasMessageNotContaining("secret");
  }
}
