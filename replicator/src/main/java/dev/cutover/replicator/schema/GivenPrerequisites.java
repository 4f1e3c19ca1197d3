package dev.cutover.replicator.schema;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The schemas, types, domains and sequences one report's remedies create, each given by the first
 * remedy that needs it and left out of those after it, so that the remedies run in the order
 * printed: given twice, the second failed "already exists" ({@code check} in r26, {@code status}
 * until it shared this, for two tables new lacks in one schema new lacks or drawing from one
 * sequence).
 */
public final class GivenPrerequisites {
  private final Map<String, String> given = new HashMap<>();
  private boolean leftOut;

  /**
   * {@code statements} without the prerequisites an earlier remedy gives; those it keeps are given
   * by {@code subject} from now on (what later remedies name as creating them).
   */
  public List<String> notGiven(List<String> statements, String subject) {
    List<String> out = new ArrayList<>();
    for (String statement : statements) {
      boolean prerequisite = statement.startsWith("CREATE SCHEMA ") || statement.startsWith("CREATE TYPE ")
          || statement.startsWith("CREATE DOMAIN ") || statement.startsWith("CREATE SEQUENCE ");
      if (prerequisite && given.putIfAbsent(statement, subject) != null) {
        leftOut = true;
      } else {
        out.add(statement);
      }
    }
    return out;
  }

  /** The subject of the remedy that gives {@code statement}, or null where none has. */
  public String givenBy(String statement) {
    return given.get(statement);
  }

  /** Whether {@link #notGiven} left a statement out since last asked: that remedy runs after those above. */
  public boolean leftOut() {
    boolean was = leftOut;
    leftOut = false;
    return was;
  }
}
