package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A server that runs short of disk, memory or a configured limit while start loads new (SQLState
 * class 53): the command names the side and what to change there, after its undo, instead of
 * PostgreSQL's "could not extend file" alone with exit 1. New's disk filling up is the common
 * case; a temp_file_limit that an index build on new exceeds goes the same way and needs no small
 * file system to show it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ServerShortageTest {
  private static final String TABLE = "CREATE TABLE coded (id int PRIMARY KEY, code text NOT NULL); CREATE INDEX coded_code ON coded (code)";

  @Test
  void startCommand_newExceedsItsTempFileLimitBuildingAnIndex_exitsNamingNewTheLimitAndWhatToChange(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "shortage");
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(o, TABLE + "; INSERT INTO coded SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
      AppDatabase.execute(n, TABLE);
      AppDatabase.execute(n, "ALTER DATABASE " + db.name + " SET temp_file_limit = '64kB'");
    }
    Map<String, String> env = new HashMap<>();
    Optional.ofNullable(pair.oldServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_OLD_PASSWORD", p));
    Optional.ofNullable(pair.newServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_NEW_PASSWORD", p));
    StringWriter err = new StringWriter();

    int code = ReplicatorCli.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), env, false, "start", "--jobs", "1",
        "--maintenance-work-mem", "1MB", "--replica-identity-full", "--no-progress",
        "--old-url", pair.oldServer().jdbcUrl(db.name), "--old-user", pair.oldServer().user(),
        "--new-url", pair.newServer().jdbcUrl(db.name), "--new-user", pair.newServer().user());

    assertThat(code).as(err.toString()).isEqualTo(Failure.PRECONDITION.exitCode());
    assertThat(err.toString()).contains("new: temporary file size exceeds temp_file_limit (64kB) (SQLState 53400)")
        .contains("new reached a configured limit (such as temp_file_limit): raise it for this role")
        .contains("then run the command again");
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM coded")).as("start's undo emptied what it copied").isZero();
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_indexes WHERE tablename = 'coded'")).as("new's indexes back").isEqualTo(2);
      AppDatabase.execute(n, "ALTER DATABASE " + db.name + " RESET temp_file_limit");
    }
    db.replicator().cleanup();
  }

  /**
   * Trigger capture keeps no slot on old: a full disk there is its change log growing, which a
   * remedy about a slot's WAL sends the user looking for in vain. No small file system here to
   * fill, so the server's disk-full error is PostgreSQL's own words, explained against real sides.
   */
  @Test
  void explain_diskFullUnderTriggerCapture_namesTheChangeLogNotASlot(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "shortagetrig");
    Replicator r = db.replicator();

    String beforeStart = ServerShortage.explain(diskFull(), r.old(), r.nw()).oneLine();
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    String underTriggers = ServerShortage.explain(diskFull(), r.old(), r.nw()).oneLine();

    assertThat(beforeStart).contains("the WAL a slot keeps");
    assertThat(underTriggers).contains("trigger capture's change log in schema cutover takes room on the side it captures")
        .doesNotContain("slot");
    r.cleanup();
  }

  /** Start under trigger capture removes its change log in its undo, before the error is explained: the error carries the engine. */
  @Test
  void explain_diskFullFromAStartUnderTriggerCaptureAfterItsUndo_namesTheChangeLogNotASlot(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "shortageundo");
    Replicator r = db.replicator();

    SQLException fromStart = (SQLException) ServerShortage.underTriggers(ServerShortage.on(Side.NEW, diskFull()));
    String message = ServerShortage.explain(fromStart, r.old(), r.nw()).oneLine();

    assertThat(message).contains("new: could not extend file").contains("new is out of disk space")
        .contains("trigger capture's change log").doesNotContain("slot");
  }

  private static SQLException diskFull() {
    return new SQLException("could not extend file \"base/16384/16385\": No space left on device", "53100");
  }
}
