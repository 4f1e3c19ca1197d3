package dev.cutover.replicator.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A refresh on new while a session there reads the view in an open transaction (the application,
 * once it reads new; a report): its exclusive lock is tried in short tries, so that readers do not
 * queue behind it, and refused naming the view when the reader holds on through every try.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class MaterializedViewsTest {
  @Test
  void refreshAsOnOld_readerOnNewHoldsTheView_refusedNamingItThenRefreshesOnceItEnds(PostgresPair pair) throws Exception {
    String db = pair.oldServer().createDatabase("mv_refresh");
    pair.newServer().createDatabase(db);
    String schema = "CREATE TABLE item (id int PRIMARY KEY); CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM item";
    try (Connection old = pair.oldServer().connect(db); Connection nw = pair.newServer().connect(db);
        Connection reader = pair.newServer().connect(db)) {
      Sql.execute(old, schema + "; INSERT INTO item SELECT generate_series(1, 3); REFRESH MATERIALIZED VIEW item_count");
      Sql.execute(nw, schema);
      reader.setAutoCommit(false);
      Sql.number(reader, "SELECT n FROM item_count");

      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
          () -> MaterializedViews.refreshAsOnOld(old, nw, Duration.ofSeconds(1)));
      reader.rollback();

      assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(refused.getMessage()).contains("new: could not lock public.item_count to refresh it");
      Sql.execute(nw, "INSERT INTO item SELECT generate_series(1, 5)");
      assertThat(MaterializedViews.refreshAsOnOld(old, nw, Duration.ofSeconds(1))).containsExactly("public.item_count");
      assertThat(Sql.number(nw, "SELECT n FROM item_count")).isEqualTo(5);
    }
  }
}
