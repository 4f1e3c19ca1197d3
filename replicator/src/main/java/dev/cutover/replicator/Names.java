package dev.cutover.replicator;

import java.util.Locale;
import java.util.Objects;

/**
 * The names of everything the replicator creates. All start with {@code cutover_}, which is how
 * {@code cleanup} recognises its own objects and leaves everything else alone.
 *
 * <p>Publications and subscriptions belong to one database, so their names are fixed. Replication
 * slots belong to the whole server, so theirs carry a label (by default the old database's name)
 * and cleanup also matches the slot's database.
 */
public final class Names {
  /** Every object the replicator creates starts with this. */
  public static final String PREFIX = "cutover_";
  /** Publication on old and subscription on new, old → new. */
  public static final String FORWARD = "cutover_fwd";
  /** Publication on new and subscription on old, new → old. */
  public static final String REVERSE = "cutover_rev";
  private static final int MAX_LABEL = 40;

  private final String label;

  private Names(String label) {
    this.label = label;
  }

  /**
   * Names for a migration labelled {@code label}: lower-cased, characters other than letters,
   * digits and underscores replaced by underscores, at most 40 characters.
   *
   * @throws IllegalArgumentException when nothing usable is left of the label
   */
  public static Names of(String label) {
    Objects.requireNonNull(label, "label");
    String clean = label.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    if (clean.length() > MAX_LABEL) {
      clean = clean.substring(0, MAX_LABEL);
    }
    if (clean.isEmpty()) {
      throw new IllegalArgumentException("name must contain a letter or digit, not '" + label + "'");
    }
    return new Names(clean);
  }

  public String label() {
    return label;
  }

  /** The replication slot on old that the forward subscription streams from. */
  public String forwardSlot() {
    return FORWARD + "_" + label;
  }

  /** The replication slot on new that the reverse subscription streams from. */
  public String reverseSlot() {
    return REVERSE + "_" + label;
  }

  @Override
  public String toString() {
    return label;
  }
}
