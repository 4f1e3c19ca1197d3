package dev.cutover.replicator;

import dev.cutover.testkit.PostgresVersions;

/** Schema changes carried between PostgreSQL 16 and 18. */
@PostgresVersions(oldMajor = 16, newMajor = 18)
class SchemaChangeFlow16To18Test extends SchemaChangeFlowTest {}
