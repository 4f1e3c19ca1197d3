package dev.cutover.sample;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * Writes records, maps, collections, strings, numbers, booleans and enums as indented JSON; a
 * record's components become an object's fields, in declaration order. Enough for the report,
 * without a JSON library on the classpath.
 */
final class Json {
  private Json() {}

  static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out, 0);
    return out.append('\n').toString();
  }

  private static void write(Object value, StringBuilder out, int depth) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String || value instanceof Enum<?>) {
      string(value.toString(), out);
    } else if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      out.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d).replaceAll("\\.?0+$", "") : "null");
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map<?, ?> map) {
      object(map.entrySet().iterator(), map.size(), out, depth);
    } else if (value instanceof Collection<?> list) {
      array(list, out, depth);
    } else if (value.getClass().isRecord()) {
      record(value, out, depth);
    } else {
      string(value.toString(), out);
    }
  }

  private static void record(Object record, StringBuilder out, int depth) {
    write(fields(record), out, depth);
  }

  /** A record's components by name, in declaration order. */
  static Map<String, Object> fields(Object record) {
    RecordComponent[] components = record.getClass().getRecordComponents();
    Map<String, Object> fields = new java.util.LinkedHashMap<>();
    for (RecordComponent c : components) {
      try {
        c.getAccessor().setAccessible(true);
        fields.put(c.getName(), c.getAccessor().invoke(record));
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read " + record.getClass().getSimpleName() + "." + c.getName(), e);
      }
    }
    return fields;
  }

  private static void object(Iterator<? extends Map.Entry<?, ?>> entries, int size, StringBuilder out, int depth) {
    if (size == 0) {
      out.append("{}");
      return;
    }
    out.append("{\n");
    while (entries.hasNext()) {
      Map.Entry<?, ?> e = entries.next();
      indent(out, depth + 1);
      string(String.valueOf(e.getKey()), out);
      out.append(": ");
      write(e.getValue(), out, depth + 1);
      out.append(entries.hasNext() ? ",\n" : "\n");
    }
    indent(out, depth);
    out.append('}');
  }

  private static void array(Collection<?> list, StringBuilder out, int depth) {
    if (list.isEmpty()) {
      out.append("[]");
      return;
    }
    boolean flat = list.stream().noneMatch(v -> v instanceof Map || v instanceof Collection || (v != null && v.getClass().isRecord()));
    out.append(flat ? "[" : "[\n");
    Iterator<?> it = list.iterator();
    while (it.hasNext()) {
      if (!flat) {
        indent(out, depth + 1);
      }
      write(it.next(), out, depth + 1);
      out.append(it.hasNext() ? (flat ? ", " : ",\n") : (flat ? "" : "\n"));
    }
    if (!flat) {
      indent(out, depth);
    }
    out.append(']');
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  private static void indent(StringBuilder out, int depth) {
    out.append("  ".repeat(depth));
  }
}
