package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with the rehearsal flag source: writing a word into the flag file moves a live
 * HikariCP pool through the driver, on real PostgreSQL with native logical replication.
 */
@LeakCheckedPair
class FlagFilePoolTest {

  @Test
  void flagFile_writtenNewThenOld_movesLivePoolAndBack(PostgresPair pair, @TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("app-db-cutover"), "old\n");
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    db.prepareReverse();
    String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "file", RoutingFlags.FILE, file.toString()));
    try (LivePool live = new LivePool(db, url, Map.of())) {
      live.assertServedBy(pair.oldServer(), "old");

      live.flipUnderLoad("flag file, old -> new", Target.NEW, 0, () -> Files.writeString(file, "new\n"));

      db.armReverse();
      live.flipUnderLoad("flag file, new -> old", Target.OLD, 100, () -> Files.writeString(file, "old\n"));

      assertThat(RouterBean.attribute(db.database, "SwitchesCompleted")).isEqualTo(2L);
      assertThat(RouterBean.attribute(db.database, "FlagRejectedValues")).isEqualTo(0L);
    }
  }
}
