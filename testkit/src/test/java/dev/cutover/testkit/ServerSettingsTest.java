package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ServerSettingsTest {

  @AfterEach
  void clearProperty() {
    System.clearProperty(ServerSettings.FSYNC_PROPERTY);
    System.clearProperty(ServerSettings.NUDGER_PROPERTY);
  }

  @Test
  void forVersion_noProperty_fsyncOff() {
    assertThat(ServerSettings.forVersion(17)).containsEntry("fsync", "off").containsEntry("synchronous_commit", "on");
  }

  @Test
  void forVersion_propertyOn_fsyncOn() {
    System.setProperty(ServerSettings.FSYNC_PROPERTY, "on");

    assertThat(ServerSettings.forVersion(12)).containsEntry("fsync", "on");
    assertThat(ServerSettings.forVersion(9)).containsEntry("fsync", "on").doesNotContainKey("max_logical_replication_workers");
  }

  @Test
  void forVersion_propertyNeitherOnNorOff_refusedNamingIt() {
    System.setProperty(ServerSettings.FSYNC_PROPERTY, "yes");

    assertThatThrownBy(() -> ServerSettings.forVersion(17))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("-Dcutover.test.fsync must be on or off, not 'yes'");
  }

  @Test
  void nudges_onUnlessThePropertySaysOff() {
    assertThat(ServerSettings.nudges()).isTrue();
    System.setProperty(ServerSettings.NUDGER_PROPERTY, "off");
    assertThat(ServerSettings.nudges()).isFalse();
    System.setProperty(ServerSettings.NUDGER_PROPERTY, "no");
    assertThatThrownBy(ServerSettings::nudges).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("-Dcutover.test.nudger must be on or off, not 'no'");
  }
}
