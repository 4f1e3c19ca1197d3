package dev.cutover.torture;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything needed to see what a run did and to play its schedule again: the options and seed,
 * each round's plan and what the nemesis actually did when (milliseconds from the start of the
 * run), the switch attempts each round produced, what the operator did, the violations, and where
 * the server logs and the instances' journals are (with the server logs' last lines inline).
 * {@code ./torture --replay FILE} reads the options and the plans from it.
 */
record RunRecord(String tool, RunOptions options, String machine, String servers, List<RoundLog> rounds,
    List<String> violations, Map<String, String> files, Map<String, List<String>> serverLogTails) {

  /**
   * One round as it happened.
   *
   * @param startedAt when it began, ms from the start of the run
   * @param checkMillis how long the checks after it took
   * @param servingBefore the side that served when it began
   * @param servingAfter the side that served after it
   * @param plan what the schedule said
   * @param applied what the nemesis and the flag did, when
   * @param attempts the switch attempts the instances reported
   * @param notes what the operator did and saw (turnarounds, fixes, instances left behind)
   * @param violations what the checks after the round found
   */
  record RoundLog(int number, long startedAt, long endedAt, long checkMillis, String servingBefore, String servingAfter, Schedule.Round plan,
      List<Nemesis.Applied> applied, List<Attempts.Attempt> attempts, List<String> notes, List<String> violations) {}

  static final String TOOL = "cutover-torture";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  void write(Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    JSON.writeValue(file.toFile(), this);
  }

  /** Reads a record; an unreadable file or another JSON document is an IOException naming the file. */
  static RunRecord read(Path file) throws IOException {
    RunRecord r;
    try {
      r = JSON.readValue(file.toFile(), RunRecord.class);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException(file + " is not a record written by " + TOOL + " (its record.json): " + e.getOriginalMessage(), e);
    }
    if (!TOOL.equals(r.tool()) || r.options() == null || r.rounds() == null) {
      throw new IOException(file + " is not a record written by " + TOOL + " (its record.json)");
    }
    return r;
  }

  /** The plans, in order, for a replay. */
  List<Schedule.Round> plans() {
    return rounds.stream().map(RoundLog::plan).toList();
  }
}
