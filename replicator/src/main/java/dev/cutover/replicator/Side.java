package dev.cutover.replicator;

import java.util.Locale;

/** One of the two databases of a cutover. */
public enum Side {
  /** The database the application leaves; the source of forward replication. */
  OLD,
  /** The database the application moves to; the source of reverse replication. */
  NEW;

  /** The other database. */
  public Side other() {
    return this == OLD ? NEW : OLD;
  }

  /** {@code old} or {@code new}, as messages and JSON show it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
