package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresPairExtension.class)
@PostgresVersions(oldMajor = 9, newMajor = 17)
class CaptureSmokeTest {
  @Test
  void smoke(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "smoke");
    Replicator r = db.replicator();
    StartReport report = r.start(StartOptions.defaults().withJobs(2), new CopyProgress(), CopyListener.NONE);
    System.out.println(report);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO account (email, ratio) VALUES ('new@example.com', 0.1234567890123456789)");
      OwnedDatabase.execute(o, "UPDATE entry SET n = n + 100, note = NULL WHERE account_id = 5");
      OwnedDatabase.execute(o, "DELETE FROM account WHERE id = 7");
      OwnedDatabase.execute(o, "TRUNCATE scratch");
      OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (1, 'again')");
      OwnedDatabase.execute(o, "DELETE FROM keyless WHERE ctid = (SELECT ctid FROM keyless WHERE a = 3 LIMIT 1)");
      OwnedDatabase.execute(o, "UPDATE keyless SET b = 'changed' WHERE ctid = (SELECT ctid FROM keyless WHERE a = 4 LIMIT 1)");
      r.awaitCaughtUp(Duration.ofSeconds(30));
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      System.out.println(verify);
      assertThat(verify.differences()).isZero();
      apply.appliers().forEach(a -> System.out.println(a.way().name() + " " + a.batches() + " " + a.changes() + " " + a.missing() + " " + a.lastError()));
    }
  }
}
