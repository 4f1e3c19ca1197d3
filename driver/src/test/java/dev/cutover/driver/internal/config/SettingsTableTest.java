package dev.cutover.driver.internal.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The settings table of docs/driver.md against {@link SettingKey}: a setting added to the code
 * without a row, or a row left after a setting went, fails here rather than in a user's hands.
 * Flag settings ({@code cutover.flag.*}) belong to the flag sources and are not checked here.
 */
class SettingsTableTest {
  private static final Pattern KEY = Pattern.compile("`(cutover\\.[a-z.-]+)`");

  @Test
  void settingsTable_againstSettingKey_listsEveryKeyWithItsDefault() throws IOException {
    Map<String, String> documented = documentedDefaults();
    Map<String, String> defined = Arrays.stream(SettingKey.values())
        .collect(Collectors.toMap(SettingKey::key, k -> k.defaultValue() == null ? "" : k.defaultValue(),
            (a, b) -> a, LinkedHashMap::new));

    assertThat(documented.keySet()).containsExactlyInAnyOrderElementsOf(defined.keySet());
    defined.forEach((key, value) -> {
      if (!value.isEmpty() && documented.get(key).startsWith("`")) {
        assertThat(documented.get(key)).as(key).isEqualTo("`" + value + "`");
      }
    });
  }

  /** Each driver key of the table (flag settings left out) with its default column as written. */
  private static Map<String, String> documentedDefaults() throws IOException {
    String page = Files.readString(Path.of(System.getProperty("cutover.docs", "../docs"), "driver.md"));
    String table = page.substring(page.indexOf("| key | default | meaning |"));
    Map<String, String> keys = new LinkedHashMap<>();
    for (String row : table.split("\n")) {
      if (!row.startsWith("|")) {
        break;
      }
      String[] cells = row.split("\\|");
      if (cells.length < 3) {
        continue;
      }
      Matcher m = KEY.matcher(cells[1]);
      while (m.find()) {
        if (!m.group(1).startsWith("cutover.flag.")) {
          keys.put(m.group(1), cells[2].trim());
        }
      }
    }
    return keys;
  }
}
