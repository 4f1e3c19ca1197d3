package dev.cutover.replicator.capture;

import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import org.junit.jupiter.api.extension.ExtendWith;

/** Trigger capture from PostgreSQL 11 (logical decoding, but older than the native engine supports) to 17. */
@ExtendWith(PostgresPairExtension.class)
@PostgresVersions(oldMajor = 11, newMajor = 17)
class TriggerCapture11To17Test extends TriggerCaptureFlow {}
