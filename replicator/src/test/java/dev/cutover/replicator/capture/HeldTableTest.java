package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A transaction left prepared for two-phase commit (as a crashed XA manager leaves it) holds a
 * write lock on an application table while {@code start} needs the table for a trigger: it is
 * refused naming the side, the table and the transaction, exit 8, and leaves nothing it installed.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class HeldTableTest {

  /**
   * Before, start failed after about 20 s with a bare "canceling statement due to lock timeout
   * (SQLState 55P03)", exit 1, and left the control schema on old.
   */
  @Test
  void start_preparedTransactionHoldsATableOnOld_exit8NamingItAndNoControlSchemaLeft(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "held_start");
    String gid = "xa_" + db.name;
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "BEGIN; INSERT INTO scratch VALUES (1000, 'xa'); PREPARE TRANSACTION '" + gid + "'");
      try {
        String out = db.cliExiting(8, "start", "--capture", "triggers");

        assertThat(out).contains("old: could not lock public.scratch to add the control schema's fence trigger")
            .contains("prepared transaction '" + gid + "' of role " + OwnedDatabase.ROLE)
            .contains("COMMIT or ROLLBACK PREPARED");
        try (Connection n = db.nw()) {
          for (Connection c : List.of(o, n)) {
            assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
            assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'")).isZero();
          }
        }
      } finally {
        OwnedDatabase.execute(o, "ROLLBACK PREPARED '" + gid + "'");
      }
    }
  }
}
