package dev.cutover.sample;

import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The sample app's command line. {@code rehearse} is the default command, so {@code SampleApp
 * --flips 4} means {@code SampleApp rehearse --flips 4}, and {@code --help} shows its options.
 */
@Command(name = "cutover-sample", mixinStandardHelpOptions = true,
    description = "Cutover's sample booking service and its cutover rehearsal.",
    subcommands = {RehearseCommand.class, CommandLine.HelpCommand.class})
public final class SampleApp implements Runnable {
  private static final Set<String> TOP_LEVEL = Set.of("-V", "--version", "help", "rehearse");

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code. */
  static int run(String... args) {
    String[] effective = args.length == 0 || !TOP_LEVEL.contains(args[0]) ? prepend("rehearse", args) : args;
    return new CommandLine(new SampleApp()).execute(effective);
  }

  @Override
  public void run() {
    // Only reached with no subcommand, which run(String...) never leaves.
  }

  private static String[] prepend(String first, String[] rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }
}
