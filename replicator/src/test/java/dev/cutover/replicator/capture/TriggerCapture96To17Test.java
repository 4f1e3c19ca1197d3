package dev.cutover.replicator.capture;

import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import org.junit.jupiter.api.extension.ExtendWith;

/** Trigger capture from PostgreSQL 9.6, which has no logical decoding at all, to 17. */
@ExtendWith(PostgresPairExtension.class)
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TriggerCapture96To17Test extends TriggerCaptureFlow {}
