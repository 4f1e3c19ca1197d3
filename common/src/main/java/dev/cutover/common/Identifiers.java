package dev.cutover.common;

/**
 * Names given in settings that must match exactly elsewhere: a service's name (its coordination
 * rows, its flag context key, its MBean) and an instance's id. A blank typed at the end of a
 * {@code .properties} line would otherwise make another service, silently; so each is read trimmed,
 * wherever it is read, and a value that trims to nothing or holds a control character is refused.
 */
public final class Identifiers {
  private Identifiers() {}

  /**
   * {@code value} with leading and trailing white space removed.
   *
   * @param whenUnset what leaving the setting unset gives, for the remedy ({@code default})
   * @throws IllegalArgumentException naming {@code key} when the value is blank or holds a control
   *     character
   */
  public static String trimmed(String key, String value, String whenUnset) {
    String v = value.strip();
    if (v.isEmpty()) {
      throw new IllegalArgumentException(key + " is blank: give it a name, the same wherever it is set,"
          + " or leave it unset for " + whenUnset);
    }
    for (int i = 0; i < v.length(); i++) {
      if (Character.isISOControl(v.charAt(i))) {
        throw new IllegalArgumentException(key + "='" + escaped(v) + "' holds a control character: write the name"
            + " on one line, without tabs or other control characters");
      }
    }
    return v;
  }

  private static String escaped(String v) {
    StringBuilder b = new StringBuilder(v.length() + 8);
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
