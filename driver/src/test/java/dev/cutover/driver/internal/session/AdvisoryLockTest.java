package dev.cutover.driver.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.postgresql.core.BaseConnection;

@LeakCheckedPair
class AdvisoryLockTest {

  /**
   * The hand-over reads a session's locks by its process: the process id and its start. A process
   * id outlives its process (a session whose backend ended, one on a server restarted since), and
   * another session's process may have it then: its locks are not the session's. Before, a process
   * id alone matched.
   */
  @Test
  void heldBy_theProcessIdOfAnotherStart_readsNothing(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    try (Connection holder = server.connect("postgres", new Properties());
        Connection reader = server.connect("postgres", new Properties())) {
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_lock(4245)");
      }
      Backend own = Backend.of(holder.unwrap(BaseConnection.class));
      Backend earlier = new Backend(own.pid(), "2000-01-01 00:00:00.000000", own.server(), own.serverStarted());

      assertThat(AdvisoryLock.heldBy(reader, List.of(own))).as("its own process's")
          .containsOnlyKeys(own.pid()).extractingByKey(own.pid()).asString().isEqualTo("[advisory lock 4245]");
      assertThat(AdvisoryLock.heldBy(reader, List.of(earlier))).as("an earlier process with that id").isEmpty();
    }
  }
}
