package dev.cutover.replicator;

import dev.cutover.testkit.PostgresVersions;

/** The same flow between PostgreSQL 16 and 18, where reverse replication runs beside forward (origin = none). */
@PostgresVersions(oldMajor = 16, newMajor = 18)
class ReplicationFlow16To18Test extends ReplicationFlowTest {}
