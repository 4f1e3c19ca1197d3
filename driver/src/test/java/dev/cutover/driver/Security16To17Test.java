package dev.cutover.driver;

import dev.cutover.testkit.PostgresVersions;

/** The same attacks and forged release between PostgreSQL 16 and 17 (parameter privileges exist from 15). */
@PostgresVersions(oldMajor = 16, newMajor = 17)
class Security16To17Test extends SecurityTest {}
