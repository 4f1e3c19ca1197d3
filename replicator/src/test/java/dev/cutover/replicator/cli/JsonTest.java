package dev.cutover.replicator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.check.Finding;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void write_recordWithEnumListMapAndEscapes_isValidJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("findings", List.of(new Finding(Finding.Severity.ERROR, "old", "table-without-key", "a \"quoted\"\nline", "")));
    m.put("took", Duration.ofMillis(1500));
    m.put("none", null);
    assertThat(Json.write(m)).isEqualTo("{\"findings\":[{\"severity\":\"error\",\"side\":\"old\",\"code\":\"table-without-key\","
        + "\"message\":\"a \\\"quoted\\\"\\nline\",\"remedy\":\"\"}],\"took\":1500,\"none\":null}");
  }
}
