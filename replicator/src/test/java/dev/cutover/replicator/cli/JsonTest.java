package dev.cutover.replicator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.check.Finding;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

  /** A record with a getter-like method, and values JSON has no type for. */
  record Sample(String name, double ratio, Path file, Instant at, Optional<String> maybe) {
    public boolean isEmpty() {
      return name.isEmpty();
    }
  }

  @Test
  void write_recordWithGetterLikeMethodAndOtherValues_componentsOnlyOtherValuesAsText() {
    Sample sample = new Sample("s\u0001", 0.25, Path.of("/tmp/a b"), Instant.parse("2026-01-02T03:04:05Z"), Optional.empty());
    assertThat(Json.write(List.of(sample, Double.NaN, Finding.Severity.WARNING)))
        .isEqualTo("[{\"name\":\"s\\u0001\",\"ratio\":0.3,\"file\":\"/tmp/a b\",\"at\":\"2026-01-02T03:04:05Z\","
            + "\"maybe\":\"Optional.empty\"},null,\"warning\"]");
  }
}
