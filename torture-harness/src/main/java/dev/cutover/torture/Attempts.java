package dev.cutover.torture;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Switch attempts as the service lived them, from the instances' switch events. Instances of one
 * switch share its id; a switch refused before the instances met (the replication probe) has an
 * id per instance, so those refusals are counted as one attempt per round and direction.
 */
final class Attempts {

  enum Outcome { COMPLETED, ABORTED, SPLIT }

  /**
   * One attempt.
   *
   * @param outcome completed by every instance that reported it, aborted by every one, or split
   * @param reason the abort's reason category (empty when completed)
   * @param detail the first abort reason as reported
   */
  record Attempt(int round, String id, String from, String to, Outcome outcome, String reason, String detail,
      List<String> instances, long gateWaitMaxMicros) {}

  private static final List<Map.Entry<Pattern, String>> CATEGORIES = List.of(
      Map.entry(Pattern.compile("is not delivering: a probe"), "replication not delivering (refused before the gate)"),
      Map.entry(Pattern.compile("barrier marker written on .* did not reach"), "barrier timeout"),
      Map.entry(Pattern.compile("did not drain within"), "an instance did not drain"),
      Map.entry(Pattern.compile("no decision from the leader"), "no decision from the leader"),
      Map.entry(Pattern.compile("superseded by a later flip"), "superseded by a later flip"),
      Map.entry(Pattern.compile("database is unreachable"), "a database was unreachable"),
      Map.entry(Pattern.compile("cannot open connections to"), "cannot open connections to the target"),
      Map.entry(Pattern.compile("rolled-back transactions .* did not end"), "rolled-back stragglers did not end"));
  private static final Pattern FAILED_WHILE = Pattern.compile("failed while ([a-z ]+?)(?: old| new)?:");

  /** Each attempt's events and the round it was first seen in, by id (or by round and direction for refusals). */
  private final Map<String, List<JournalReader.Event>> events = new LinkedHashMap<>();
  private final Map<String, Integer> rounds = new LinkedHashMap<>();

  /**
   * Adds one round's events (an attempt whose events straddle two reads is merged with what was
   * seen before) and returns the attempts they belong to.
   */
  List<Attempt> add(int round, List<JournalReader.Event> batch) {
    Map<String, Boolean> touched = new LinkedHashMap<>();
    for (JournalReader.Event e : batch) {
      // A refusal before the instances met carries an id per instance: one attempt per round and direction.
      boolean solo = !e.completed() && !e.leader() && !events.containsKey(e.id())
          && batch.stream().noneMatch(o -> o != e && o.id().equals(e.id()));
      String key = solo ? "solo " + round + " " + e.from() + "->" + e.to() + " " + category(e.reason()) : e.id();
      events.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
      rounds.putIfAbsent(key, round);
      touched.put(key, true);
    }
    List<Attempt> attempts = new ArrayList<>();
    for (String key : touched.keySet()) {
      attempts.add(attempt(key));
    }
    return attempts;
  }

  /**
   * An attempt's outcome is each instance's last word on it: an instance that aborted and then
   * rejoined the same switch through its heartbeat and completed it, completed it.
   */
  private Attempt attempt(String key) {
    Map<String, JournalReader.Event> last = new LinkedHashMap<>();
    for (JournalReader.Event e : events.get(key)) {
      last.remove(e.instance());
      last.put(e.instance(), e);
    }
    List<JournalReader.Event> es = new ArrayList<>(last.values());
    long completed = es.stream().filter(JournalReader.Event::completed).count();
    Outcome outcome = completed == es.size() ? Outcome.COMPLETED : completed == 0 ? Outcome.ABORTED : Outcome.SPLIT;
    JournalReader.Event aborted = es.stream().filter(e -> !e.completed()).filter(JournalReader.Event::leader).findFirst()
        .orElse(es.stream().filter(e -> !e.completed()).findFirst().orElse(null));
    JournalReader.Event first = es.get(0);
    return new Attempt(rounds.get(key), first.id(), first.from(), first.to(), outcome,
        aborted == null ? "" : category(aborted.reason()), aborted == null ? "" : aborted.reason(),
        es.stream().map(e -> e.instance() + (e.completed() ? "" : " (aborted)")).toList(),
        events.get(key).stream().mapToLong(JournalReader.Event::gateWaitMaxMicros).max().orElse(0));
  }

  /** The category of an abort reason, for the summary. */
  static String category(String reason) {
    for (Map.Entry<Pattern, String> c : CATEGORIES) {
      if (c.getKey().matcher(reason).find()) {
        return c.getValue();
      }
    }
    Matcher m = FAILED_WHILE.matcher(reason);
    if (m.find()) {
      return "failed while " + m.group(1).trim();
    }
    return reason.length() > 60 ? reason.substring(0, 60) + "..." : reason;
  }

  List<Attempt> all() {
    return events.keySet().stream().map(this::attempt).toList();
  }

  long count(Outcome outcome) {
    return all().stream().filter(a -> a.outcome() == outcome).count();
  }

  /** Attempts that moved the service (completed, or completed by some instances). */
  long moved() {
    return all().stream().filter(a -> a.outcome() != Outcome.ABORTED).count();
  }

  Map<String, Long> abortedByReason() {
    Map<String, Long> reasons = new TreeMap<>();
    for (Attempt a : all()) {
      if (a.outcome() != Outcome.COMPLETED) {
        reasons.merge(a.reason(), 1L, Long::sum);
      }
    }
    return reasons;
  }

  long longestGateWaitMicros() {
    return all().stream().mapToLong(Attempt::gateWaitMaxMicros).max().orElse(0);
  }
}
