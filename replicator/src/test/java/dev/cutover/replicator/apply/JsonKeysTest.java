package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.replicator.capture.ChangeLog;
import org.junit.jupiter.api.Test;

class JsonKeysTest {
  @Test
  void of_rowWithNestedValuesAndEscapedNames_topLevelNamesInOrder() {
    String row = "{\"id\":1,\"doc\":{\"id\":2,\"k\":[1,{\"x\":\"}\"}]},\"we\\\"ird\\u00e9\":\"a,b\",\"tags\":[\"{\"],\"n\":null}";
    assertThat(JsonKeys.of(row)).containsExactly("id", "doc", "we\"irdé", "tags", "n");
  }

  @Test
  void of_emptyObject_noNames() {
    assertThat(JsonKeys.of(" { } ")).isEmpty();
  }

  @Test
  void of_notAnObject_failsNamingTheText() {
    assertThatThrownBy(() -> JsonKeys.of("[1]")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a JSON object: [1]");
    assertThatThrownBy(() -> JsonKeys.of("{\"a\":")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("{\"a\":");
  }

  @Test
  void values_keyColumnsInAnyOrder_theirTextInTheOrderAsked() {
    String row = "{\"a\":1,\"doc\":{\"b\":\"nested\"},\"b\":\"x\\\"y\",\"c\":-20}";
    assertThat(JsonKeys.values(row, java.util.List.of("c", "b", "a"))).containsExactly("-20", "x\"y", "1");
  }

  @Test
  void nulls_rowNamingItsJsonNulls_thoseNames() {
    String row = "{\"a\":null,\"b\":{\"x\":[null]},\"c\":null,\"" + ChangeLog.JSON_NULLS + "\": [\"c\", \"we\\\"ird\"]}";
    assertThat(JsonKeys.nulls(row)).containsExactly("c", "we\"ird");
  }

  @Test
  void nulls_noMember_none() {
    assertThat(JsonKeys.nulls("{\"a\":null}")).isEmpty();
    assertThat(JsonKeys.nulls(null)).isEmpty();
    assertThat(JsonKeys.nulls("{\"a\":\"" + ChangeLog.JSON_NULLS + "\"}")).as("the name inside a value").isEmpty();
    assertThat(JsonKeys.nulls("{\"a\":{\"" + ChangeLog.JSON_NULLS + "\":[\"a\"]}}")).as("the name below the top level").isEmpty();
  }

  @Test
  void values_keyMissingNullOrNotScalar_null() {
    assertThat(JsonKeys.values("{\"a\":1}", java.util.List.of("a", "b"))).isNull();
    assertThat(JsonKeys.values("{\"a\":null}", java.util.List.of("a"))).isNull();
    assertThat(JsonKeys.values("{\"a\":[1]}", java.util.List.of("a"))).isNull();
  }
}
