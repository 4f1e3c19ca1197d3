package dev.cutover.replicator.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * Table names as an operator writes them on the command line, read the way SQL reads them:
 * {@code schema.table}, each part either unquoted (folded to lower case, as PostgreSQL folds
 * ASCII letters) or double-quoted (exact; {@code ""} for a quote inside), possibly a
 * comma-separated list. So {@code public."Orders"}, {@code "sch.x"."t"} and {@code "t,1"} each name
 * one table, whatever dots, commas or spaces the names hold; {@link TableName#sqlName()} writes them.
 */
public final class QualifiedNames {
  private QualifiedNames() {}

  /**
   * One name as written.
   *
   * @param text the name as given
   * @param parts its parts, schema first when given, quotes removed, case as written
   * @param quoted for each part, whether it was double-quoted
   */
  public record Written(String text, List<String> parts, List<Boolean> quoted) {
    /** The table SQL means by it: unquoted parts in lower case; without a schema, {@code defaultSchema}. */
    public TableName folded(String defaultSchema) {
      List<String> p = new ArrayList<>();
      for (int i = 0; i < parts.size(); i++) {
        p.add(quoted.get(i) ? parts.get(i) : lower(parts.get(i)));
      }
      return p.size() == 1 ? new TableName(defaultSchema, p.get(0)) : new TableName(p.get(0), p.get(1));
    }

    /** Whether an unquoted part holds an upper-case letter, which SQL folds: {@code public.Orders} means public.orders. */
    public boolean unquotedUpperCase() {
      for (int i = 0; i < parts.size(); i++) {
        if (!quoted.get(i) && !parts.get(i).equals(lower(parts.get(i)))) {
          return true;
        }
      }
      return false;
    }

    /** Whether a schema was given. */
    public boolean qualified() {
      return parts.size() == 2;
    }
  }

  /** Reads one name. @throws IllegalArgumentException saying what is wrong with it */
  public static Written one(String text) {
    List<Written> all = list(text);
    if (all.size() != 1) {
      throw new IllegalArgumentException("'" + text + "' names " + all.size() + " tables, not one (a comma inside a name needs"
          + " double quotes: \"t,1\")");
    }
    return all.get(0);
  }

  /** Reads a comma-separated list of names. @throws IllegalArgumentException saying what is wrong, and where */
  public static List<Written> list(String text) {
    List<Written> out = new ArrayList<>();
    int i = 0;
    int n = text.length();
    while (true) {
      int start = i;
      List<String> parts = new ArrayList<>();
      List<Boolean> quoted = new ArrayList<>();
      while (true) {
        i = skipSpace(text, i);
        if (i < n && text.charAt(i) == '"') {
          StringBuilder b = new StringBuilder();
          i++;
          while (true) {
            if (i >= n) {
              throw new IllegalArgumentException("'" + text + "': a double quote is not closed");
            }
            char c = text.charAt(i++);
            if (c == '"') {
              if (i < n && text.charAt(i) == '"') {
                b.append('"');
                i++;
              } else {
                break;
              }
            } else {
              b.append(c);
            }
          }
          if (b.length() == 0) {
            throw new IllegalArgumentException("'" + text + "': \"\" is no name");
          }
          parts.add(b.toString());
          quoted.add(true);
        } else {
          int from = i;
          while (i < n && ".,\"".indexOf(text.charAt(i)) < 0) {
            i++;
          }
          String part = text.substring(from, i).strip();
          if (part.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "': a name is missing" + (from < n ? " before '" + text.charAt(from) + "'"
                : " at the end"));
          }
          if (i < n && text.charAt(i) == '"') {
            throw new IllegalArgumentException("'" + text + "': a double quote inside a name (" + part + "\"…): quote the whole"
                + " part, doubling the quotes in it");
          }
          parts.add(part);
          quoted.add(false);
        }
        i = skipSpace(text, i);
        if (i < n && text.charAt(i) == '.') {
          i++;
          continue;
        }
        break;
      }
      if (parts.size() > 2) {
        throw new IllegalArgumentException("'" + text + "': " + text.substring(start, i).strip() + " has " + parts.size()
            + " parts, not schema.table (a dot inside a name needs double quotes: \"sch.x\".\"t\")");
      }
      if (i < n && text.charAt(i) != ',') {
        throw new IllegalArgumentException("'" + text + "': unexpected '" + text.charAt(i) + "' after " + text.substring(start, i).strip());
      }
      out.add(new Written(text.substring(start, i).strip(), List.copyOf(parts), List.copyOf(quoted)));
      if (i >= n) {
        return out;
      }
      i++;
    }
  }

  private static int skipSpace(String text, int i) {
    while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Lower case as PostgreSQL folds unquoted names in UTF-8: ASCII letters only. */
  static String lower(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      b.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
    }
    return b.toString();
  }
}
