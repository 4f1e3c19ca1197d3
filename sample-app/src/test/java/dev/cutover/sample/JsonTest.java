package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  enum Kind { FAST }

  record Part(String name, double share, float small, List<Integer> counts, List<Part> parts, Map<String, Object> extra, Kind kind) {
    public boolean isEmpty() {
      return parts.isEmpty();
    }
  }

  @Test
  void write_nestedRecords_indentedComponentsOnlyWithThreeDecimals() {
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("quote", "a \"b\"\n");
    extra.put("none", null);
    extra.put("nan", Double.NaN);
    Part inner = new Part("inner", 2.0, 0.5f, List.of(), List.of(), Map.of(), Kind.FAST);
    String json = Json.write(new Part("outer", 1.23456, 1.0f, List.of(1, 2), List.of(inner), extra, Kind.FAST));
    assertThat(json).isEqualTo("""
        {
          "name": "outer",
          "share": 1.235,
          "small": 1,
          "counts": [1, 2],
          "parts": [{
            "name": "inner",
            "share": 2,
            "small": 0.5,
            "counts": [],
            "parts": [],
            "extra": {},
            "kind": "FAST"
          }],
          "extra": {
            "quote": "a \\"b\\"\\n",
            "none": null,
            "nan": null
          },
          "kind": "FAST"
        }
        """);
  }
}
