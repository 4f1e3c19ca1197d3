package dev.cutover.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The major versions a test class needs, for tests of version-specific behaviour; without it,
 * {@link PostgresPairExtension} uses the system properties {@code cutover.test.old} and
 * {@code cutover.test.new}, so the whole build can run against other versions.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface PostgresVersions {

  /** Major version of the old server, 9 (9.6) or 10 to 18 for embedded servers. */
  int oldMajor();

  /** Major version of the new server, 9 (9.6) or 10 to 18 for embedded servers. */
  int newMajor();
}
