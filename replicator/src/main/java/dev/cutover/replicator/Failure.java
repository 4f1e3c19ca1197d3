package dev.cutover.replicator;

/**
 * Why a replicator operation failed, each with the CLI exit code documented in
 * {@code docs/replicator.md}. Exit codes 0 (success), 1 (unexpected error) and 2 (bad command
 * line) are not failures of this kind.
 */
public enum Failure {
  /** A URL that is not a PostgreSQL JDBC URL, an unreachable server, refused credentials. */
  CONNECTION(3),
  /** The role lacks a privilege the operation needs (superuser, replication, ownership). */
  PRIVILEGE(4),
  /** The databases are not in the state the operation needs (wal_level, non-empty tables, leftovers, no fence). */
  PRECONDITION(5),
  /** {@code check} found at least one error. */
  CHECK_FAILED(6),
  /**
   * {@code verify} found rows that differ, or application tables it could not compare; or {@code
   * catch-up} caught up but replication does not carry application tables (outside the publication,
   * or without capture triggers).
   */
  DIFFERENCES(7),
  /** Replication did not catch up, or a slot stayed busy, within the allowed time. */
  TIMEOUT(8),
  /** An external tool (pg_dump) is missing or cannot dump this server version. */
  TOOL_MISSING(9);

  private final int exitCode;

  Failure(int exitCode) {
    this.exitCode = exitCode;
  }

  /** The process exit code the CLI uses for this failure. */
  public int exitCode() {
    return exitCode;
  }
}
