package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whether two connections reach one database, whatever host names, addresses or relays lie
 * between: a session advisory lock of a random key taken on one is refused to the other only when
 * both are in the same database of the same server, the scope of advisory locks. Any role may take
 * one, so no privilege is needed, and the key is let go before returning. A copied setting or a DNS
 * name not moved yet makes "new" the old database: a switch would fence it and move nothing, and
 * verify would compare it with itself.
 */
public final class SameDatabase {
  private static final int TRIES = 3;

  private SameDatabase() {}

  /** Whether {@code a} and {@code b}, two sessions of their own (not a pooler's), are in the same database. */
  public static boolean of(Connection a, Connection b) throws SQLException {
    for (int i = 0; i < TRIES; i++) {
      long key = ThreadLocalRandom.current().nextLong();
      if (!lock(a, key)) {
        continue; // someone holds this very key: another one
      }
      try {
        if (lock(b, key)) {
          unlock(b, key);
          return false;
        }
        return true;
      } finally {
        unlock(a, key);
      }
    }
    return false;
  }

  private static boolean lock(Connection c, long key) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.pg_try_advisory_lock(" + key + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static void unlock(Connection c, long key) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_catalog.pg_advisory_unlock(" + key + ")");
    }
  }
}
