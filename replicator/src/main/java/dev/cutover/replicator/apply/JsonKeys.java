package dev.cutover.replicator.apply;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.cutover.replicator.capture.ChangeLog;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The member names of a JSON object's top level, in order: which columns a captured row carries.
 * Read with Jackson's streaming parser, which skips the values (strings, nested objects and
 * arrays) without building them.
 */
final class JsonKeys {
  private static final JsonFactory FACTORY = new JsonFactory();

  private JsonKeys() {}

  /**
   * @throws IllegalArgumentException when {@code json} is not a well-formed object
   */
  static List<String> of(String json) {
    List<String> keys = new ArrayList<>();
    try (JsonParser parser = object(json)) {
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        keys.add(parser.currentName());
        parser.nextToken();
        parser.skipChildren();
      }
      return keys;
    } catch (IOException e) {
      throw malformed(json, e);
    }
  }

  /**
   * The text of the top-level members {@code names} of a JSON object, in that order (a string's
   * value unescaped, a number as written), or null when one is missing, null or not a scalar.
   *
   * @throws IllegalArgumentException when {@code json} is not a well-formed object
   */
  static List<String> values(String json, List<String> names) {
    String[] out = new String[names.size()];
    int found = 0;
    try (JsonParser parser = object(json)) {
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        int i = names.indexOf(parser.currentName());
        JsonToken value = parser.nextToken();
        if (i >= 0 && out[i] == null) {
          if (!value.isScalarValue() || value == JsonToken.VALUE_NULL) {
            return null;
          }
          out[i] = parser.getText();
          found++;
        }
        parser.skipChildren();
      }
      return found == out.length ? List.of(out) : null;
    } catch (IOException e) {
      throw malformed(json, e);
    }
  }

  /**
   * Prefixes, in {@link #nulls}, a column the row carries as its text ({@link ChangeLog#JSON_TEXT}):
   * no column name holds the NUL character, so a column's own name never equals such an entry.
   */
  static final String AS_TEXT = "\0";

  /**
   * The columns a logged row names in its member {@link ChangeLog#JSON_NULLS} (its json columns
   * that hold the JSON value {@code null}), and those it names in {@link ChangeLog#JSON_TEXT}, each
   * after {@link #AS_TEXT}; or none. Parsed only where a member's name occurs in the text at all.
   *
   * @throws IllegalArgumentException when {@code json} is not a well-formed object
   */
  static List<String> nulls(String json) {
    if (json == null || !json.contains(ChangeLog.JSON_NULLS) && !json.contains(ChangeLog.JSON_TEXT)) {
      return List.of();
    }
    try (JsonParser parser = object(json)) {
      List<String> names = new ArrayList<>();
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String prefix = ChangeLog.JSON_NULLS.equals(parser.currentName()) ? "" : ChangeLog.JSON_TEXT.equals(parser.currentName()) ? AS_TEXT : null;
        if (parser.nextToken() == JsonToken.START_ARRAY && prefix != null) {
          while (parser.nextToken() == JsonToken.VALUE_STRING) {
            names.add(prefix + parser.getText());
          }
        } else {
          parser.skipChildren();
        }
      }
      return List.copyOf(names);
    } catch (IOException e) {
      throw malformed(json, e);
    }
  }

  /** A parser of {@code json} standing on the opening of its top-level object. */
  private static JsonParser object(String json) throws IOException {
    JsonParser parser = FACTORY.createParser(json);
    if (parser.nextToken() != JsonToken.START_OBJECT) {
      parser.close();
      throw new IllegalArgumentException("not a JSON object: " + abbreviate(json));
    }
    return parser;
  }

  private static IllegalArgumentException malformed(String json, IOException e) {
    return new IllegalArgumentException("not a well-formed JSON object: " + abbreviate(json), e);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }
}
