package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/**
 * The data source's setters reach the driver's settings: a bad value fails with the driver's own
 * message; a data source without a usable URL says so, whichever getConnection is called.
 */
class CutoverDataSourceTest {

  private static CutoverDataSource dataSource() {
    CutoverDataSource ds = new CutoverDataSource();
    ds.setUrl("jdbc:cutover:postgresql://127.0.0.1:1/app");
    ds.setNewUrl("jdbc:postgresql://127.0.0.1:1/app");
    ds.setService("datasource-setters");
    return ds;
  }

  @Test
  void setDrainTimeout_notADuration_failsNamingTheSetting() {
    CutoverDataSource ds = dataSource();
    ds.setDrainTimeout("soon");

    SQLException e = catchThrowableOfType(SQLException.class, ds::getConnection);

    assertThat(e.getMessage()).contains("cutover.drain.timeout=soon is not a duration");
  }

  @Test
  void setBarrierTimeoutAndGateMaxPause_validValues_reachTheDriver() {
    CutoverDataSource ds = dataSource();
    ds.setBarrierTimeout("3s");
    ds.setGateMaxPause("0ms");

    SQLException e = catchThrowableOfType(SQLException.class, ds::getConnection);

    assertThat(e.getMessage()).contains("cutover.gate.max-pause=0ms must be a positive duration");
  }

  @Test
  void setFlagFile_missingFile_failsNamingTheFile() {
    CutoverDataSource ds = dataSource();
    ds.setFlagProvider("file");
    ds.setFlagFile("/nonexistent/cutover-flag");
    ds.setFlagDefault("old");
    ds.setInstance("web-1");

    SQLException e = catchThrowableOfType(SQLException.class, ds::getConnection);

    assertThat(e.getMessage()).contains("cutover.flag.file=/nonexistent/cutover-flag: no such file");
  }

  @Test
  void getConnectionWithCredentials_noUrl_failsNamingTheSetter() {
    CutoverDataSource ds = new CutoverDataSource();
    assertThatThrownBy(() -> ds.getConnection("app", "secret"))
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("22023"))
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
