package dev.cutover.common;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Masks secrets in text that may reach a log, an exception or {@code toString()}.
 *
 * <p>URLs are masked by reading their query parameters, not by matching literal text: a name is
 * compared percent-decoded ({@code pass%77ord}), and a value that decodes to something else (an
 * encoded URL such as {@code cutover.new.url=jdbc%3Apostgresql%3A...%26password%3D...}) is read
 * again, decoded, as often as it is encoded. What is found is replaced by {@code ***} where it
 * stands in the text as written, so the rest keeps its form and free text around a URL is left
 * alone.
 */
public final class Secrets {
  private static final String MASK = "***";
  /**
   * A query parameter: its name, then its value up to the next {@code &} or the end of the text, as
   * PgJDBC reads it (it splits the query on {@code &} alone, so a {@code ;}, {@code ?} or {@code #}
   * belongs to the value, a password's too). A {@code ;} may still start a name: text that reads a
   * parameter there is masked too, which only hides more.
   */
  private static final Pattern PARAMETER = Pattern.compile("[?&;]([^=&;]*)=([^&]*)");
  /** The password of a URI's user info ({@code postgresql://user:password@host}); the user may be empty. */
  private static final Pattern USERINFO = Pattern.compile("//[^/@:\\s]*:([^/@]*)@");

  private Secrets() {}

  /**
   * A URL, or text quoting URLs, with every password-like parameter and user-info password
   * replaced by {@code ***}, also where they stand inside a percent-encoded URL given as a
   * parameter's value.
   */
  public static String maskUrl(String url) {
    if (url == null) {
      return null;
    }
    List<int[]> spans = new ArrayList<>();
    findSecrets(url, spans);
    return spans.isEmpty() ? url : replace(url, spans);
  }

  /**
   * Adds to {@code spans} the [start, end) of every secret in {@code text}. A parameter that is
   * not a secret is read on from the start of its value, so that a URL written unencoded inside
   * another is read too; its value is also read decoded (see {@link #findEncoded}).
   */
  private static void findSecrets(String text, List<int[]> spans) {
    Matcher userInfo = USERINFO.matcher(text);
    while (userInfo.find()) {
      spans.add(new int[] {userInfo.start(1), userInfo.end(1)});
    }
    Matcher parameter = PARAMETER.matcher(text);
    int from = 0;
    while (from <= text.length() && parameter.find(from)) {
      int start = parameter.start(2);
      if (isSecret(Decoded.of(parameter.group(1)).text)) {
        spans.add(new int[] {start, parameter.end(2)});
        from = parameter.end(2);
        continue;
      }
      List<int[]> inner = new ArrayList<>();
      findEncoded(parameter.group(2), inner);
      for (int[] span : inner) {
        spans.add(new int[] {start + span[0], start + span[1]});
      }
      from = start;
    }
  }

  /**
   * Adds to {@code spans} the secrets {@code value} holds once percent-decoded, once or as often
   * as it was encoded, each mapped back to where it stands in {@code value} as written.
   */
  private static void findEncoded(String value, List<int[]> spans) {
    Decoded decoded = Decoded.of(value);
    if (!decoded.changed()) {
      return;
    }
    List<int[]> inner = new ArrayList<>();
    findSecrets(decoded.text, inner);
    findEncoded(decoded.text, inner);
    for (int[] span : inner) {
      spans.add(new int[] {decoded.offsets[span[0]], decoded.offsets[span[1]]});
    }
  }

  /** {@code text} with each of {@code spans} (merged where they touch) replaced by {@code ***}. */
  private static String replace(String text, List<int[]> spans) {
    spans.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
    StringBuilder masked = new StringBuilder(text.length());
    int written = 0;
    int i = 0;
    while (i < spans.size()) {
      int start = spans.get(i)[0];
      int end = spans.get(i)[1];
      for (i++; i < spans.size() && spans.get(i)[0] <= end; i++) {
        end = Math.max(end, spans.get(i)[1]);
      }
      masked.append(text, written, start).append(MASK);
      written = end;
    }
    return masked.append(text, written, text.length()).toString();
  }

  /**
   * Text percent-decoded one level for reading its structure: each escape becomes the one
   * character of its byte's value (enough to see separators and names; secrets are masked where
   * they stand as written, never shown decoded), a {@code +} a blank, a malformed escape stays as
   * written. {@code offsets[i]} is where the i-th decoded character starts in the text as written;
   * {@code offsets[text.length()]} is its length.
   */
  private record Decoded(String text, int[] offsets, boolean changed) {
    static Decoded of(String raw) {
      if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) {
        return new Decoded(raw, null, false);
      }
      StringBuilder text = new StringBuilder(raw.length());
      int[] offsets = new int[raw.length() + 1];
      int i = 0;
      while (i < raw.length()) {
        offsets[text.length()] = i;
        char c = raw.charAt(i);
        int b = escapedByte(raw, i);
        if (b >= 0) {
          text.append((char) b);
          i += 3;
        } else {
          text.append(c == '+' ? ' ' : c);
          i++;
        }
      }
      offsets[text.length()] = raw.length();
      return new Decoded(text.toString(), offsets, !text.toString().equals(raw));
    }
  }

  /** Whether a setting's value must never be shown. */
  public static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("sdk-key") || k.contains("secret");
  }

  /** The value as it may be shown: masked when the key names a secret. */
  public static String show(String key, String value) {
    if (value == null) {
      return null;
    }
    return isSecret(key) ? MASK : key.toLowerCase(Locale.ROOT).endsWith("url") ? maskUrl(value) : value;
  }

  /**
   * The secrets a connection to {@code url} with {@code properties} carries: passwords in the
   * properties, in URL parameters and in user info, also inside an encoded URL given as a
   * parameter, each as written and as it reads after every level of URL-decoding.
   */
  public static Set<String> of(String url, Properties properties) {
    Set<String> secrets = new LinkedHashSet<>();
    for (String key : properties.stringPropertyNames()) {
      if (isSecret(key)) {
        add(secrets, properties.getProperty(key));
      }
    }
    if (url != null) {
      List<int[]> spans = new ArrayList<>();
      findSecrets(url, spans);
      for (int[] span : spans) {
        add(secrets, url.substring(span[0], span[1]));
      }
    }
    return secrets;
  }

  private static void add(Set<String> secrets, String value) {
    String v = value;
    while (v != null && !v.isEmpty() && secrets.add(v)) {
      String decoded = decode(v);
      v = decoded.equals(v) ? null : decoded;
    }
  }

  /** The byte of the escape {@code %XY} at {@code i} in {@code s}, or -1 where none (or a malformed one) stands. */
  private static int escapedByte(String s, int i) {
    if (s.charAt(i) != '%' || i + 2 >= s.length()) {
      return -1;
    }
    int hi = Character.digit(s.charAt(i + 1), 16);
    int lo = Character.digit(s.charAt(i + 2), 16);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

  /** Percent-decodes as UTF-8, {@code +} as a blank; a malformed escape stays as written. */
  private static String decode(String s) {
    if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
      return s;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      int b = escapedByte(s, i);
      if (b >= 0) {
        bytes.write(b);
        i += 3;
      } else {
        int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
        bytes.writeBytes((c == '+' ? " " : s.substring(i, end)).getBytes(StandardCharsets.UTF_8));
        i = end;
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** {@code text} with URLs masked and every one of {@code secrets} replaced by {@code ***}. */
  public static String mask(String text, Collection<String> secrets) {
    if (text == null) {
      return null;
    }
    String masked = maskUrl(text);
    for (String secret : secrets) {
      masked = masked.replace(secret, MASK);
    }
    return masked;
  }

  /**
   * {@code t} itself when no message in its cause chain contains one of {@code secrets}; otherwise
   * a copy of the chain whose messages are masked (PgJDBC puts the host part of a URL, user info
   * included, into its own exceptions). Each copy names the class it stands for, keeps its stack
   * trace and, for an {@link SQLException}, its SQLState.
   */
  public static Throwable scrub(Throwable t, Collection<String> secrets) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      String message = c.getMessage();
      if (message != null && !mask(message, secrets).equals(message)) {
        return copy(t, secrets);
      }
    }
    return t;
  }

  private static Throwable copy(Throwable t, Collection<String> secrets) {
    Throwable cause = t.getCause() == null || t.getCause() == t ? null : copy(t.getCause(), secrets);
    String state = t instanceof SQLException e ? e.getSQLState() : null;
    Masked m = new Masked(t.getClass().getName() + ": " + mask(t.getMessage(), secrets), state, cause);
    m.setStackTrace(t.getStackTrace());
    return m;
  }

  /** An exception whose message had a secret in it, as it may be shown. */
  static final class Masked extends SQLException {
    Masked(String message, String sqlState, Throwable cause) {
      super(message, sqlState, cause);
    }
  }
}
