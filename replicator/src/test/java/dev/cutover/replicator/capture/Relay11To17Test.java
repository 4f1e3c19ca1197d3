package dev.cutover.replicator.capture;

import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link Relay13To17Test}'s tests from PostgreSQL 11, the oldest source relayed replication
 * supports: logical decoding, but older than the native engine's 12. Before 12 a float printed
 * with fewer than three extra digits loses precision, so the replication session sets them.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class Relay11To17Test extends Relay13To17Test {}
