package dev.cutover.replicator.cli;

import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/** Writes reports as JSON: records become objects, enums lower-case strings, durations milliseconds. */
final class Json {
  private Json() {}

  static String write(Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String s) {
      string(b, s);
    } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
      b.append(v);
    } else if (v instanceof Double d) {
      b.append(d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.1f", d));
    } else if (v instanceof Number n) {
      b.append(n);
    } else if (v instanceof Enum<?> e) {
      string(b, e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    } else if (v instanceof Character c) {
      string(b, c.toString());
    } else if (v instanceof Instant i) {
      string(b, i.toString());
    } else if (v instanceof Duration d) {
      b.append(d.toMillis());
    } else if (v instanceof Map<?, ?> m) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          b.append(',');
        }
        first = false;
        string(b, String.valueOf(e.getKey()));
        b.append(':');
        write(b, e.getValue());
      }
      b.append('}');
    } else if (v instanceof Collection<?> c) {
      b.append('[');
      boolean first = true;
      for (Object o : c) {
        if (!first) {
          b.append(',');
        }
        first = false;
        write(b, o);
      }
      b.append(']');
    } else if (v.getClass().isRecord()) {
      b.append('{');
      boolean first = true;
      for (RecordComponent rc : v.getClass().getRecordComponents()) {
        if (!first) {
          b.append(',');
        }
        first = false;
        string(b, rc.getName());
        b.append(':');
        try {
          write(b, rc.getAccessor().invoke(v));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + rc.getName() + " of " + v.getClass().getSimpleName(), e);
        }
      }
      b.append('}');
    } else {
      string(b, v.toString());
    }
  }

  private static void string(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }
}
