package dev.cutover.driver;

import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A driver test class on a real {@link dev.cutover.testkit.PostgresPair}, checked by
 * {@link NoLeakedConnections} after each test, once {@link ClosedRouters} has closed the routers
 * (after-each callbacks run in reverse order of registration); the subscriptions and slots a test
 * set up are then dropped by {@link ReplicationTeardown}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class, ClosedRouters.class})
public @interface LeakCheckedPair {}
