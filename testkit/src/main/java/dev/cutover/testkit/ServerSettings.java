package dev.cutover.testkit;

import java.util.Map;

/**
 * The server settings every started server gets (embedded or in a container), so that any server
 * can be either side of a logical replication with several subscriptions at once.
 */
final class ServerSettings {

  /**
   * {@code pg_stat_statements} is preloaded so that a test can count the statements a server saw
   * (after {@code CREATE EXTENSION pg_stat_statements}); the zonky binaries 12 to 18 and the
   * official images all ship it. {@code fsync=off} because test data never has to survive a crash.
   * {@code max_connections=300} leaves room for several pools of 50 and the connections a switch
   * opens ahead. {@code synchronous_commit=on} is PostgreSQL's default, restated because zonky turns it off, and
   * then a commit is acknowledged before its WAL is written, which is not how production behaves.
   */
  static final Map<String, String> ALL = Map.of(
      "wal_level", "logical",
      "max_replication_slots", "20",
      "max_wal_senders", "20",
      "max_worker_processes", "20",
      "max_logical_replication_workers", "10",
      "max_connections", "300",
      "shared_preload_libraries", "pg_stat_statements",
      "fsync", "off",
      "synchronous_commit", "on");

  private ServerSettings() {}
}
