package dev.cutover.replicator.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * A setting's list of names as the server prints it ({@code search_path}, the names in {@code
 * synchronous_standby_names}): separated by commas, a name with other characters in double quotes,
 * a double quote in one doubled.
 */
public final class NameList {
  private NameList() {}

  /** Each name of {@code stored}, unquoted ({@code "$user", public, "My Schema"}: {@code $user}, {@code public}, {@code My Schema}). */
  public static List<String> split(String stored) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = stored.length();
    while (i < n) {
      while (i < n && (Character.isWhitespace(stored.charAt(i)) || stored.charAt(i) == ',')) {
        i++;
      }
      if (i >= n) {
        break;
      }
      StringBuilder b = new StringBuilder();
      if (stored.charAt(i) == '"') {
        i++;
        while (i < n) {
          char ch = stored.charAt(i++);
          if (ch == '"') {
            if (i < n && stored.charAt(i) == '"') {
              b.append('"');
              i++;
            } else {
              break;
            }
          } else {
            b.append(ch);
          }
        }
      } else {
        while (i < n && stored.charAt(i) != ',' && !Character.isWhitespace(stored.charAt(i))) {
          b.append(stored.charAt(i++));
        }
      }
      out.add(b.toString());
    }
    return out;
  }
}
