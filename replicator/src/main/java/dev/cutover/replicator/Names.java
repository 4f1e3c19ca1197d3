package dev.cutover.replicator;

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
 */
public final class Names {
  /** Every object the replicator creates starts with this. */
  public static final String PREFIX = "cutover_";
  private static final String FORWARD = PREFIX + "fwd_";
  private static final String REVERSE = PREFIX + "rev_";
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

  /**
   * The names of a migration given no {@code --name}: labelled as old's database {@code database}
   * ({@code app} where the URL names none), as {@code start} recorded them.
   */
  public static Names defaultFor(String database) {
    return of(database == null || database.isEmpty() ? "app" : database);
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
