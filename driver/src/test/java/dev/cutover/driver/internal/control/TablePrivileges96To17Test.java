package dev.cutover.driver.internal.control;

import dev.cutover.testkit.PostgresVersions;

/** {@link TablePrivilegesTest} with a 9.6 side: the source, and the target of the comparison the other way (a flip back to 9.6). */
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TablePrivileges96To17Test extends TablePrivilegesTest {}
