package dev.cutover.replicator.cli;

import dev.cutover.replicator.LostConnection;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ServerShortage;
import java.io.PrintWriter;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every command shares: connection options, output, the run's context. */
abstract class BaseCommand implements Callable<Integer> {
  @Mixin
  ConnectionOptions connection;

  @Spec
  CommandSpec spec;

  ReplicatorCli.Context context;

  @Override
  public final Integer call() throws Exception {
    context.json = connection.json;
    Replicator replicator = connection.replicator(context.env, spec.commandLine(), appRoles());
    try {
      return run(replicator);
    } catch (SQLException e) {
      if (LostConnection.is(e)) {
        throw LostConnection.explain(e, replicator.old(), replicator.nw());
      }
      throw ServerShortage.is(e) ? ServerShortage.explain(e, replicator.old(), replicator.nw()) : e;
    }
  }

  /** The roles named with {@code --app-role}, for the commands that take it. */
  List<String> appRoles() {
    return List.of();
  }

  abstract int run(Replicator replicator) throws Exception;

  PrintWriter out() {
    return context.out;
  }

  PrintWriter err() {
    return context.err;
  }

  boolean json() {
    return connection.json;
  }

  /** Prints {@code report} as JSON when asked, else runs {@code human}. */
  void print(Object report, Runnable human) {
    if (json()) {
      out().println(Json.write(report));
    } else {
      human.run();
    }
    out().flush();
  }
}
