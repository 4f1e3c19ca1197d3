package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** The data source's setters reach the driver's settings: a bad value fails with the driver's own message. */
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
}
