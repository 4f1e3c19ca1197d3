package dev.cutover.replicator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * The names of everything the replicator creates. All start with {@code cutover_} and carry the
 * migration's label (by default the old database's name), which is how {@code cleanup} and
 * {@code status} recognise this migration's objects and leave everything else alone, including
 * another migration's on the same servers.
 *
 * <p>One direction's publication, subscription and slot share one name, {@code cutover_fwd_<label>}
 * or {@code cutover_rev_<label>}. Slots and {@code pg_stat_subscription} are server-wide, so every
 * query about them also filters by the current database.
 *
 * <p>A label is never cut: two labels that differ only past the limit would name one migration's
 * objects, and {@code cleanup} of one removed the other's live slot. A label given is refused
 * when too long; a default one too long is shortened with a hash of the whole database name.
 */
public final class Names {
  /** Every object the replicator creates starts with this. */
  public static final String PREFIX = "cutover_";
  private static final String FORWARD = PREFIX + "fwd_";
  private static final String REVERSE = PREFIX + "rev_";
  /** So that {@code cutover_fwd_<label>} fits PostgreSQL's 63 bytes for names. */
  private static final int MAX_LABEL = 40;
  /** Hex digits of the database name's SHA-256 that end a default label too long to keep whole. */
  private static final int HASH_DIGITS = 8;

  private final String label;

  private Names(String label) {
    this.label = label;
  }

  /**
   * Names for a migration labelled {@code label} (given as {@code --name}): lower-cased, characters
   * other than letters, digits and underscores replaced by underscores.
   *
   * @throws IllegalArgumentException when nothing usable is left of the label, or it is longer than
   *     {@link #MAX_LABEL}: cut, it could name another migration's objects
   */
  public static Names of(String label) {
    Objects.requireNonNull(label, "label");
    String clean = normalized(label);
    if (clean.isEmpty()) {
      throw new IllegalArgumentException("--name must contain a letter or digit, not '" + label + "'");
    }
    if (clean.length() > MAX_LABEL) {
      throw new IllegalArgumentException("--name '" + label + "' is " + clean.length() + " characters; at most " + MAX_LABEL
          + " fit (in cutover_fwd_<label>, a slot name of at most 63), and a label is never cut, as another migration's"
          + " could then be the same: give a shorter --name");
    }
    return new Names(clean);
  }

  /**
   * The names of a migration given no {@code --name}: labelled as old's database {@code database}
   * ({@code app} where the URL names none), as {@code start} recorded them. A name longer than
   * {@link #MAX_LABEL} keeps its first 31 characters, then {@code _} and the first 8 hex digits of
   * the SHA-256 of the whole name (UTF-8), so that two long names that share a beginning do not
   * share a label.
   */
  public static Names defaultFor(String database) {
    String name = database == null || database.isEmpty() ? "app" : database;
    String clean = normalized(name);
    if (clean.length() <= MAX_LABEL) {
      return of(name);
    }
    String hash = HexFormat.of().formatHex(sha256(name)).substring(0, HASH_DIGITS);
    return new Names(clean.substring(0, MAX_LABEL - 1 - HASH_DIGITS) + "_" + hash);
  }

  private static String normalized(String label) {
    return label.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  public String label() {
    return label;
  }

  /** Old → new: the publication on old, the subscription on new and the slot on old it streams from. */
  public String forward() {
    return FORWARD + label;
  }

  /** New → old: the publication on new, the subscription on old and the slot on new it streams from. */
  public String reverse() {
    return REVERSE + label;
  }

  /** The replication slot on old that the forward subscription streams from ({@link #forward()}). */
  public String forwardSlot() {
    return forward();
  }

  /** The replication slot on new that the reverse subscription streams from ({@link #reverse()}). */
  public String reverseSlot() {
    return reverse();
  }

  @Override
  public String toString() {
    return label;
  }
}
