package dev.cutover.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** A benchmark's result: a table on stdout and the same rows as JSON. */
final class Report {
  private final String name;
  private final List<String> columns;
  private final List<List<String>> rows = new ArrayList<>();
  private final Map<String, Object> facts = new LinkedHashMap<>();

  Report(String name, String... columns) {
    this.name = name;
    this.columns = List.of(columns);
  }

  void row(Object... cells) {
    List<String> r = new ArrayList<>();
    for (Object c : cells) {
      r.add(c instanceof Double ? String.format("%.2f", (Double) c) : String.valueOf(c));
    }
    rows.add(r);
  }

  /** The median of a benchmark's rounds (the upper one of an even count). */
  static double median(double[] rounds) {
    double[] sorted = rounds.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** Every round's value in order, {@code format}ted, as {@code 1.2 / 1.4 / 1.3}. */
  static String rounds(String format, double[] rounds) {
    return Arrays.stream(rounds).mapToObj(v -> String.format(Locale.ROOT, format, v)).collect(Collectors.joining(" / "));
  }

  void fact(String key, Object value) {
    facts.put(key, value);
  }

  List<List<String>> rows() {
    return rows;
  }

  /** Prints the table and writes {@code <dir>/<name>.json}. */
  Path publish(Path dir) {
    int[] width = new int[columns.size()];
    for (int i = 0; i < width.length; i++) {
      width[i] = columns.get(i).length();
      for (List<String> r : rows) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder("\n").append(name).append('\n');
    appendLine(out, columns, width);
    StringBuilder rule = new StringBuilder("|");
    for (int w : width) {
      rule.append("-".repeat(w + 2)).append('|');
    }
    out.append(rule).append('\n');
    for (List<String> r : rows) {
      appendLine(out, r, width);
    }
    facts.forEach((k, v) -> out.append(k).append(": ").append(v).append('\n'));
    System.out.print(out);

    List<Map<String, String>> json = new ArrayList<>();
    for (List<String> r : rows) {
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < columns.size(); i++) {
        m.put(columns.get(i), r.get(i));
      }
      json.add(m);
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("benchmark", name);
    doc.putAll(facts);
    doc.put("rows", json);
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(name.replaceAll("[^a-z0-9]+", "-") + ".json");
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), doc);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void appendLine(StringBuilder out, List<String> cells, int[] width) {
    out.append('|');
    for (int i = 0; i < cells.size(); i++) {
      out.append(' ').append(String.format("%-" + width[i] + "s", cells.get(i))).append(" |");
    }
    out.append('\n');
  }
}
