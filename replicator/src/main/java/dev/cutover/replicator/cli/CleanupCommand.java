package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.cleanup.Cleanup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "cleanup", mixinStandardHelpOptions = true,
    description = {"Removes everything the replicator created, on both sides.",
        "Subscriptions, publications and slots named cutover_*, the cutover schema and its fence triggers, and nothing else. Idempotent. Run it once the cutover is final: without the control schema the driver cannot fence.",
        "Exit code 5, nothing removed, while driver instances heartbeat in the control schema (seen within the last minute: the application still uses jdbc:cutover: URLs; repoint it at new with a plain jdbc:postgresql: URL and redeploy first, or see --instances-gone), while old and new as given are not the two sides of this migration (a side fenced while the other has no control schema, a subscription whose slot is not in the other side's database), while a process holds a slot of this migration's name that no subscription of it on the other side streams from (another migration given the same --name), while one side records this migration into another database than the one given as its other side, which records nothing (the new of another migration of the same old; see --paired-database-gone), while an apply process runs (or retried a failing batch within the last minute), while a fenced side's change log holds changes the serving side never got (see --discard-unapplied), and while old is fenced and new's change log holds changes the way back never applied to old (see --give-up-way-back). Changes not applied where their side serves and the other is not fenced (a migration given up before its switch) are removed and named."})
final class CleanupCommand extends BaseCommand {
  @Mixin
  NetworkTimeoutOption network;

  @Option(names = "--discard-unapplied", description = "Remove a change log although its side is fenced and it holds changes the"
      + " side that serves never got (they stay on the fenced side only); without it cleanup refuses, naming how many.")
  boolean discardUnapplied;

  @Option(names = "--give-up-way-back", description = "The cutover is final: remove the way back (new -> old) although old is"
      + " fenced and new's change log holds changes old never got, which a flip back would need (new keeps every row); without"
      + " it cleanup refuses, naming how many. A fenced side's changes the serving side never got still refuse (--discard-unapplied).")
  boolean giveUpWayBack;

  @Option(names = "--instances-gone", description = "Remove the control schema although driver instances heartbeat there (seen"
      + " within the last minute): say so once they are gone, repointed at new with a plain jdbc:postgresql: URL, or killed;"
      + " without it cleanup refuses, naming them. An instance left running through a jdbc:cutover: URL cannot tell afterwards"
      + " where the service serves.")
  boolean instancesGone;

  @Option(names = "--paired-database-gone", description = "Remove this migration's objects although the side given records"
      + " it (cutover.migration_pair) with another database as its other side, and the side given as that other one records"
      + " nothing: say so only once that database is gone for good; without it cleanup refuses, naming it, since the objects"
      + " may belong to a migration into that database, which cleanup with its own URLs removes.")
  boolean pairedDatabaseGone;

  @Override
  int run(Replicator r) throws Exception {
    Cleanup.Report report = r.cleanup(network.get(), discardUnapplied ? Cleanup.Unapplied.DISCARD
        : giveUpWayBack ? Cleanup.Unapplied.GIVE_UP_WAY_BACK : Cleanup.Unapplied.REFUSE,
        instancesGone ? Cleanup.LiveInstances.GONE : Cleanup.LiveInstances.REFUSE,
        pairedDatabaseGone ? Cleanup.PairedDatabase.GONE : Cleanup.PairedDatabase.REQUIRE);
    print(report, () -> {
      if (report.nothingFound()) {
        out().println("nothing of ours on old or new");
        return;
      }
      report.removedOnOld().forEach(s -> out().println("old: removed " + s));
      report.removedOnNew().forEach(s -> out().println("new: removed " + s));
      report.putBackOnNew().forEach(s -> out().println("new: put back " + s + ", set aside by a start that did not finish"));
      report.kept().forEach(s -> out().println("kept " + s));
      report.warnings().forEach(s -> out().println("WARNING: " + s));
    });
    return 0;
  }
}
