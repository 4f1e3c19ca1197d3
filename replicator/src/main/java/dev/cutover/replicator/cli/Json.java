package dev.cutover.replicator.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.cutover.replicator.JsonReports;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;

/**
 * Writes reports as one line of JSON ({@link JsonReports}' rules): enums as lower-case strings with
 * dashes ({@code table-without-key}), durations as milliseconds, fractions with one decimal.
 */
final class Json {
  private static final ObjectMapper MAPPER = JsonReports.mapper().addModule(new SimpleModule("cutover-cli")
      .addSerializer(Enum.class, new EnumSerializer())
      .addSerializer(Duration.class, new DurationSerializer())
      .addSerializer(Double.class, new OneDecimalSerializer())
      .addSerializer(double.class, new OneDecimalSerializer())).build();

  private Json() {}

  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** {@code TABLE_WITHOUT_KEY} as {@code "table-without-key"}. */
  @SuppressWarnings("rawtypes")
  private static final class EnumSerializer extends JsonSerializer<Enum> {
    @Override
    public void serialize(Enum value, JsonGenerator out, SerializerProvider provider) throws IOException {
      out.writeString(value.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
  }

  private static final class DurationSerializer extends JsonSerializer<Duration> {
    @Override
    public void serialize(Duration value, JsonGenerator out, SerializerProvider provider) throws IOException {
      out.writeNumber(value.toMillis());
    }
  }

  /** One decimal ({@code 12.3}); null for NaN and infinities, which JSON cannot write. */
  private static final class OneDecimalSerializer extends JsonSerializer<Double> {
    @Override
    public void serialize(Double value, JsonGenerator out, SerializerProvider provider) throws IOException {
      if (value.isNaN() || value.isInfinite()) {
        out.writeNull();
      } else {
        out.writeNumber(String.format(Locale.ROOT, "%.1f", value));
      }
    }
  }
}
