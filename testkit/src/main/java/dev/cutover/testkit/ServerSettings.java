package dev.cutover.testkit;

import java.util.HashMap;
import java.util.Map;

/**
 * The server settings every started server gets (embedded or in a container), so that any server
 * can be either side of a logical replication with several subscriptions at once.
 */
public final class ServerSettings {

  /**
   * {@code pg_stat_statements} is preloaded so that a test can count the statements a server saw
   * (after {@code CREATE EXTENSION pg_stat_statements}); the zonky binaries 9.6 to 18 and the
   * official images all ship it. {@code fsync}, which {@link #forVersion} adds, is off because test
   * data never has to survive a crash; {@code -Dcutover.test.fsync=on} ({@link #FSYNC_PROPERTY})
   * turns it on, for benchmarks that must show what a writer costs where commits wait for the disk.
   * The replication limits let a test class keep a subscription per test (each holds an apply
   * worker, a slot and a walsender) and still start the next one's table sync workers at once; at
   * 10 workers a class's tenth subscription waited about 20 s for one. On 18, whose apply workers
   * take a replication origin each from {@code max_active_replication_origins} (10 by default;
   * before 18 {@code max_replication_slots} was the limit), a class's eleventh found none and never
   * started. {@code max_connections=300} leaves room for several pools of 50 and the connections a switch
   * opens ahead. {@code max_prepared_transactions=10} (0 by default) lets a test prepare transactions as XA
   * transaction managers do. {@code synchronous_commit=on} is PostgreSQL's default, restated because zonky turns it off, and
   * then a commit is acknowledged before its WAL is written, which is not how production behaves.
   */
  static final Map<String, String> ALL = Map.of(
      "wal_level", "logical",
      "max_replication_slots", "40",
      "max_wal_senders", "40",
      "max_worker_processes", "40",
      "max_logical_replication_workers", "30",
      "max_active_replication_origins", "40",
      "max_connections", "300",
      "max_prepared_transactions", "10",
      "shared_preload_libraries", "pg_stat_statements",
      "synchronous_commit", "on");

  /**
   * The system property that decides whether embedded servers get a {@link ReplicationNudger}:
   * {@code on} (the default, for tests) or {@code off}, for benchmarks, whose servers must make
   * logical replication wait as production's do.
   */
  public static final String NUDGER_PROPERTY = "cutover.test.nudger";

  /** The system property that decides {@code fsync}: {@code on} or {@code off} (the default). */
  public static final String FSYNC_PROPERTY = "cutover.test.fsync";

  /**
   * {@link #ALL} as far as {@code majorVersion} knows them (9.6 refuses to start with a setting it
   * does not have, {@code max_logical_replication_workers} came with 10 and
   * {@code max_active_replication_origins} with 18), with {@code fsync} as
   * {@link #FSYNC_PROPERTY} says.
   */
  static Map<String, String> forVersion(int majorVersion) {
    Map<String, String> settings = new HashMap<>(ALL);
    if (majorVersion < 10) {
      settings.remove("max_logical_replication_workers");
    }
    if (majorVersion < 18) {
      settings.remove("max_active_replication_origins");
    }
    settings.put("fsync", fsync());
    return Map.copyOf(settings);
  }

  /** {@code fsync} as {@link #FSYNC_PROPERTY} says: {@code on} or {@code off}. */
  static String fsync() {
    return onOrOff(FSYNC_PROPERTY, "off");
  }

  /** Whether {@link #NUDGER_PROPERTY} asks for a {@link ReplicationNudger}. */
  static boolean nudges() {
    return onOrOff(NUDGER_PROPERTY, "on").equals("on");
  }

  private static String onOrOff(String property, String otherwise) {
    String value = System.getProperty(property, otherwise);
    if (!value.equals("on") && !value.equals("off")) {
      throw new IllegalArgumentException("-D" + property + " must be on or off, not '" + value + "'");
    }
    return value;
  }

  private ServerSettings() {}
}
