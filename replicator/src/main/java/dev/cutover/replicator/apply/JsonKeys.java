package dev.cutover.replicator.apply;

import java.util.ArrayList;
import java.util.List;

/**
 * The member names of a JSON object's top level, in order: which columns a captured row carries.
 * A tiny scanner rather than a parser, since only the names are needed and {@code row_to_json}
 * always produces a well-formed object; values (strings, nested objects and arrays) are skipped.
 */
final class JsonKeys {
  private JsonKeys() {}

  /**
   * @throws IllegalArgumentException when {@code json} is not an object
   */
  static List<String> of(String json) {
    List<String> keys = new ArrayList<>();
    int i = skipSpace(json, 0);
    if (i >= json.length() || json.charAt(i) != '{') {
      throw new IllegalArgumentException("not a JSON object: " + abbreviate(json));
    }
    i = skipSpace(json, i + 1);
    if (i < json.length() && json.charAt(i) == '}') {
      return keys;
    }
    while (i < json.length()) {
      if (json.charAt(i) != '"') {
        throw new IllegalArgumentException("expected a member name at " + i + ": " + abbreviate(json));
      }
      StringBuilder name = new StringBuilder();
      i = readString(json, i, name);
      keys.add(name.toString());
      i = skipSpace(json, i);
      if (i >= json.length() || json.charAt(i) != ':') {
        throw new IllegalArgumentException("expected ':' at " + i + ": " + abbreviate(json));
      }
      i = skipValue(json, skipSpace(json, i + 1));
      i = skipSpace(json, i);
      if (i < json.length() && json.charAt(i) == ',') {
        i = skipSpace(json, i + 1);
      } else if (i < json.length() && json.charAt(i) == '}') {
        return keys;
      } else {
        throw new IllegalArgumentException("expected ',' or '}' at " + i + ": " + abbreviate(json));
      }
    }
    throw new IllegalArgumentException("unterminated JSON object: " + abbreviate(json));
  }

  /** Reads the string starting at {@code i} (a quote) into {@code out}; returns the index after its closing quote. */
  private static int readString(String s, int i, StringBuilder out) {
    for (int j = i + 1; j < s.length(); j++) {
      char c = s.charAt(j);
      if (c == '"') {
        return j + 1;
      }
      if (c != '\\') {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      char e = s.charAt(++j);
      if (out == null) {
        if (e == 'u') {
          j += 4;
        }
        continue;
      }
      switch (e) {
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'n' -> out.append('\n');
        case 'r' -> out.append('\r');
        case 't' -> out.append('\t');
        case 'u' -> {
          out.append((char) Integer.parseInt(s.substring(j + 1, j + 5), 16));
          j += 4;
        }
        default -> out.append(e); // \" \\ \/
      }
    }
    throw new IllegalArgumentException("unterminated JSON string: " + abbreviate(s));
  }

  /** Skips the value starting at {@code i}; returns the index after it. */
  private static int skipValue(String s, int i) {
    char c = s.charAt(i);
    if (c == '"') {
      return readString(s, i, null);
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      for (int j = i; j < s.length(); j++) {
        char d = s.charAt(j);
        if (d == '"') {
          j = readString(s, j, null) - 1;
        } else if (d == '{' || d == '[') {
          depth++;
        } else if (d == '}' || d == ']') {
          if (--depth == 0) {
            return j + 1;
          }
        }
      }
      throw new IllegalArgumentException("unterminated JSON value: " + abbreviate(s));
    }
    int j = i;
    while (j < s.length() && ",}] \t\r\n".indexOf(s.charAt(j)) < 0) {
      j++;
    }
    return j;
  }

  private static int skipSpace(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }
}
