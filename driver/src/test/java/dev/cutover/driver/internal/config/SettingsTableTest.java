package dev.cutover.driver.internal.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.FlagKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The settings tables of docs/driver.md against {@link SettingKey} and {@link FlagKey}: a setting
 * added to the code without a row, a row left after a setting went, or a default that differs
 * between the code and the page fails here rather than in a user's hands. Every default is
 * compared: a value as {@code `5s`}, and a default that is no value (computed, generated, taken
 * from elsewhere) as the words the key carries for it.
 */
class SettingsTableTest {
  private static final String HEADER = "| key | default | meaning |";
  private static final Pattern KEY = Pattern.compile("`(cutover\\.[a-z.-]+)`");

  @Test
  void settingsTables_againstTheKeys_listEveryKeyWithItsDefault() throws IOException {
    Map<String, String> defined = new TreeMap<>();
    for (FlagKey k : FlagKey.values()) {
      defined.put(k.key(), k.documentedDefault());
    }
    for (SettingKey k : SettingKey.values()) {
      String shared = defined.put(k.key(), k.documentedDefault());
      assertThat(shared).as("%s, read by the driver and the flag sources, has one default", k.key())
          .isIn(null, k.documentedDefault());
    }

    assertThat(documentedDefaults()).isEqualTo(defined);
  }

  @Test
  void documentedDefault_ofAKeyWithAValue_isThatValue() {
    for (SettingKey k : SettingKey.values()) {
      if (k.defaultValue() != null) {
        assertThat(k.documentedDefault()).as(k.key()).isEqualTo("`" + k.defaultValue() + "`");
      }
    }
    for (FlagKey k : FlagKey.values()) {
      if (k.defaultValue() != null) {
        assertThat(k.documentedDefault()).as(k.key()).isEqualTo("`" + k.defaultValue() + "`");
      }
    }
  }

  @Test
  void gateMaxPause_default_isDrainPlusBarrierPlusFiveSeconds() {
    assertThat(SettingKey.GATE_MAX_PAUSE.documentedDefault()).isEqualTo("drain + barrier + 5 s");
    assertThat(SettingKey.gateMaxPause(Duration.ofSeconds(2), Duration.ofMillis(300))).isEqualTo(Duration.ofMillis(7300));
  }

  /** Each key of every settings table on the page with its default column as written. */
  private static Map<String, String> documentedDefaults() throws IOException {
    String page = Files.readString(Path.of(System.getProperty("cutover.docs", "../docs"), "driver.md"));
    Map<String, String> keys = new TreeMap<>();
    for (int at = page.indexOf(HEADER); at >= 0; at = page.indexOf(HEADER, at + 1)) {
      for (String row : page.substring(at).split("\n")) {
        if (!row.startsWith("|")) {
          break;
        }
        String[] cells = row.split("\\|");
        Matcher m = KEY.matcher(cells[1]);
        while (m.find()) {
          assertThat(keys.put(m.group(1), cells[2].trim())).as("%s in one row only", m.group(1)).isNull();
        }
      }
    }
    return keys;
  }
}
