package dev.cutover.replicator.capture;

import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Trigger capture from PostgreSQL 10, the first version with {@code pg_sequences}, partitioning and
 * schema change capture ({@code cutover.ddl_log}), to 17.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 10, newMajor = 17)
class TriggerCapture10To17Test extends TriggerCaptureFlow {}
