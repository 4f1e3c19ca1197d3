package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The replicator in the middle: old's pg_hba.conf admits connections from 127.0.0.2 only, which is
 * where the test and the replicator connect from, so new's server cannot reach old at all (a
 * subscription is refused), and trigger capture from 11 to 17 passes the same tests as with a
 * direct route ({@link TriggerCaptureFlow}).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class MiddleMan11To17Test extends TriggerCaptureFlow {
  static final String REPLICATOR_ADDRESS = "127.0.0.2";

  @BeforeAll
  static void onlyTheReplicatorReachesOld(PostgresPair pair) throws Exception {
    OwnedDatabase.admitOnlyFrom(pair.oldServer(), REPLICATOR_ADDRESS);
    assertThatThrownBy(() -> pair.oldServer().connect().close()).as("old refuses this machine's usual address")
        .isInstanceOf(SQLException.class).hasMessageContaining("pg_hba.conf");
    try (Connection old = OwnedDatabase.admin(pair.oldServer(), REPLICATOR_ADDRESS); Connection nw = pair.newServer().connect()) {
      OwnedDatabase.execute(old, "CREATE PUBLICATION reach_test FOR ALL TABLES");
      assertThatThrownBy(() -> OwnedDatabase.execute(nw, "CREATE SUBSCRIPTION reach_test CONNECTION "
          + dev.cutover.replicator.sql.Sql.literal(pair.oldServer().libpqConnection("postgres")) + " PUBLICATION reach_test WITH (create_slot = false, enabled = false)"))
          .as("new's server cannot connect to old").isInstanceOf(SQLException.class).hasMessageContaining("pg_hba.conf");
      assertThat(OwnedDatabase.count(nw, "SELECT count(*) FROM pg_subscription")).isZero();
    }
  }

  @Override
  OwnedDatabase database(PostgresPair pair, String prefix) throws Exception {
    return OwnedDatabase.create(pair, prefix, OwnedDatabase.SCHEMA, OwnedDatabase.SEED, REPLICATOR_ADDRESS);
  }
}
