package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The server's clock steps back (an NTP correction, a VM restore) after an instance died: its last
 * heartbeat is then stamped in the future, and must not keep it live for as long as the step.
 */
@LeakCheckedPair
class ClockStepTest {

  @Test
  void deadInstanceStampedInTheFuture_agesOutAndTheSwitchCompletes(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.url("cutover.instance=live", "cutover.switch.retry-interval=1s"));
    config.setUsername(db.user());
    config.setMaximumPoolSize(4);
    try (SwitchEvents events = new SwitchEvents(db.database); HikariDataSource pool = new HikariDataSource(config);
        Workload load = new Workload(pool, 2, 0); Connection watch = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 20);
      // What a peer killed with kill -9 leaves behind once old's clock has stepped back 10 minutes.
      try (PreparedStatement ps = watch.prepareStatement("INSERT INTO cutover.instance (service, instance, heartbeat_at,"
          + " flag_target, serving, phase) VALUES (?, 'killed#1', clock_timestamp() + interval '10 minutes', 'old', 'old',"
          + " 'idle')")) {
        ps.setString(1, db.database);
        ps.executeUpdate();
      }
      db.flip(Target.NEW);
      // Before, the dead instance counted as live for the 10 minutes of the step: not ready, then not
      // drained within the drain timeout, and every switch aborted after holding its gate. It counts
      // as live until about 5 s after the next heartbeat, so a first try may be refused for it, before
      // any gate closed; one completes once it aged out.
      SwitchEvent e = events.next();
      while (e.outcome() != Outcome.COMPLETED) {
        assertThat(e.gateClosed()).as("refused before its gate closed: %s", e.summary()).isFalse();
        assertThat(e.reason()).as(e.summary()).contains("killed#1").contains("neither got ready");
        e = events.next();
      }
      try (Statement s = watch.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT heartbeat_at <= clock_timestamp() FROM cutover.instance WHERE instance = 'killed#1'")) {
        assertThat(rs.next()).as("the dead instance's row is still there").isTrue();
        assertThat(rs.getBoolean(1)).as("its heartbeat is no longer stamped in the future").isTrue();
      }
      long[] atSwitch = Workload.commitsOf(List.of(load));
      await().atMost(Duration.ofSeconds(30)).until(() -> Workload.advanced(List.of(load), atSwitch, 20));
      load.close();
      assertThat(load.failures).isEmpty();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }
}
