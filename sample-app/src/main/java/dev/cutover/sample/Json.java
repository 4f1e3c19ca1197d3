package dev.cutover.sample;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.cutover.replicator.JsonReports;
import java.io.IOException;
import java.util.Locale;

/**
 * Writes the report as indented JSON with Jackson ({@link JsonReports}' rules: a record's
 * components become an object's fields, in declaration order); enums as their {@code toString()},
 * fractions with up to three decimals.
 */
final class Json {
  private static final ObjectMapper MAPPER = JsonReports.mapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.WRITE_ENUMS_USING_TO_STRING)
      .defaultPrettyPrinter(new DefaultPrettyPrinter()
          .withArrayIndenter(DefaultPrettyPrinter.NopIndenter.instance)
          .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)
              .withArrayValueSpacing(Separators.Spacing.AFTER).withObjectEmptySeparator("").withArrayEmptySeparator("")))
      .addModule(new SimpleModule("cutover-rehearsal-report")
          .addSerializer(Double.class, new ThreeDecimals())
          .addSerializer(double.class, new ThreeDecimals())
          .addSerializer(Float.class, new ThreeDecimals())
          .addSerializer(float.class, new ThreeDecimals()))
      .build();

  private Json() {}

  /** {@code value} as JSON, ending with a newline as a text file does. */
  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** Up to three decimals without trailing zeros ({@code 1.5}, {@code 2}); null for NaN and infinities. */
  private static final class ThreeDecimals extends JsonSerializer<Number> {
    @Override
    public void serialize(Number value, JsonGenerator out, SerializerProvider provider) throws IOException {
      double d = value.doubleValue();
      if (Double.isFinite(d)) {
        out.writeNumber(String.format(Locale.ROOT, "%.3f", d).replaceAll("\\.?0+$", ""));
      } else {
        out.writeNull();
      }
    }
  }
}
