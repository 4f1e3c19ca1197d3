package dev.cutover.replicator.ddl;

import dev.cutover.common.Quoting;
import dev.cutover.replicator.replication.UnpublishedTables;
import dev.cutover.replicator.replication.UnsubscribedTables;
import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.schema.GivenPrerequisites;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What {@code status} says about schema changes for one direction of replication: changes the
 * capture could not turn into a statement, changes made on the target alone, a change the apply
 * seems stuck at, tables the source's publication does not carry ({@link UnpublishedTables}) or
 * the target's subscription lacks, and, compared catalog to catalog, tables, columns and enum
 * values the source has and the target lacks, columns of another type and constraints only the
 * target holds (which stop replication at their first row, see {@link ConstraintDrift}), and what
 * the target would lack or do otherwise once the application is switched to it ({@link
 * ConstraintDrift}, {@link ObjectDrift}, {@link PrivilegeDrift}), each with the statements to run.
 * Where nothing is captured (no superuser) the comparison is what detects a change.
 */
public final class SchemaChanges {
  /** Run first in a session that makes a change by hand, so that it is not captured as a change of its own. */
  public static final String BY_HAND = "SET cutover.ddl_capture = off";
  /** Said of a difference a schema change on its way may end, before the statements that end it by hand. */
  static final String PENDING = " (if a schema change is on its way, it arrives with replication)";
  private static final String ON_ITS_WAY = PENDING + "; ";
  /**
   * Said of a change whose rows follow in the stream (CREATE TABLE AS, SELECT INTO), done by hand:
   * run in full, its rows would be there twice once the source's arrive.
   */
  private static final String EMPTY = "create the table empty, as its rows follow in the stream: CREATE TABLE ... AS ... WITH NO DATA";

  private SchemaChanges() {}

  /**
   * Problems about schema changes from {@code source} to {@code target}, one sentence each with
   * what to do.
   *
   * @param subscription the direction's subscription on the target
   * @param applying whether its apply worker runs
   * @param otherWayRuns whether replication also runs the other way (then changes on the target travel back)
   */
  public static List<String> problems(Connection source, Connection target, String sourceLabel, String targetLabel,
      String subscription, boolean applying, boolean otherWayRuns) throws SQLException {
    List<String> out = new ArrayList<>();
    boolean logs = DdlCapture.logReadable(source) && DdlCapture.logReadable(target);
    if (!DdlCapture.installed(source)) {
      out.add("schema changes on " + sourceLabel + " are not captured (no event triggers: they need a superuser); a change"
          + " there stops replication until it is made on " + targetLabel + " too, and the differences below say what to run");
    }
    if (logs) {
      unregistered(target, targetLabel, subscription, out);
      logProblems(source, target, sourceLabel, targetLabel, applying, otherWayRuns, out);
    }
    List<TableName> unpublished = UnpublishedTables.of(source, subscription);
    unpublished(target, sourceLabel, targetLabel, subscription, unpublished, out);
    unsubscribed(source, target, sourceLabel, targetLabel, subscription, logs, out);
    drift(source, target, sourceLabel, targetLabel, subscription, unpublished, table -> true, out);
    return out;
  }

  /**
   * What the schema change logs alone tell about one direction of trigger capture, which carries
   * {@code cutover.ddl_log} like any table: changes that need a hand, and the next one while
   * nothing is applied. Nothing where either side has no readable log.
   */
  public static List<String> logProblems(Connection source, Connection target, String sourceLabel, String targetLabel,
      boolean applying, boolean otherWayRuns) throws SQLException {
    List<String> out = new ArrayList<>();
    if (DdlCapture.logReadable(source) && DdlCapture.logReadable(target)) {
      logProblems(source, target, sourceLabel, targetLabel, applying, otherWayRuns, out);
    }
    return out;
  }

  private static void logProblems(Connection source, Connection target, String sourceLabel, String targetLabel, boolean applying,
      boolean otherWayRuns, List<String> out) throws SQLException {
    byHand(target, sourceLabel, targetLabel, out);
    if (!otherWayRuns) {
      alone(target, sourceLabel, targetLabel, out);
    }
    if (!applying) {
      stuck(source, target, sourceLabel, targetLabel, out);
    }
  }

  /** Tables a replayed change created that the apply's role could not add to the subscription. */
  private static void unregistered(Connection target, String targetLabel, String subscription, List<String> out) throws SQLException {
    List<String> tables = Sql.strings(target, "SELECT r.relid::regclass::text FROM cutover.ddl_refresh r"
        + " WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid)"
        + " AND NOT EXISTS (SELECT 1 FROM pg_subscription_rel s WHERE s.srrelid = r.relid) ORDER BY 1");
    if (!tables.isEmpty()) {
      out.add("table(s) " + String.join(", ", tables) + " created on " + targetLabel + " by schema changes are not replicated yet"
          + " (only a superuser may add them to the subscription as the change applies): run on " + targetLabel + ": ALTER SUBSCRIPTION "
          + Sql.ident(subscription) + " REFRESH PUBLICATION WITH (copy_data = true), which copies their rows and then streams them");
    }
  }

  /**
   * Tables the source publishes and the target has that the subscription lacks, whose every change
   * the target skips ({@link UnsubscribedTables}); not those {@link #unregistered} names already.
   */
  private static void unsubscribed(Connection source, Connection target, String sourceLabel, String targetLabel,
      String subscription, boolean logs, List<String> out) throws SQLException {
    List<UnsubscribedTables.Table> tables = new ArrayList<>(UnsubscribedTables.of(source, target, subscription));
    if (logs && !tables.isEmpty()) {
      Set<TableName> named = new HashSet<>();
      for (String[] row : Sql.rows(target, "SELECT n.nspname, c.relname FROM cutover.ddl_refresh r JOIN pg_class c ON c.oid = r.relid"
          + " JOIN pg_namespace n ON n.oid = c.relnamespace")) {
        named.add(new TableName(row[0], row[1]));
      }
      tables.removeIf(t -> named.contains(t.name()));
    }
    if (!tables.isEmpty()) {
      out.add("table(s) " + UnsubscribedTables.names(tables) + " published by " + sourceLabel + " are on " + targetLabel + " but not in "
          + targetLabel + "'s subscription " + subscription + ": " + targetLabel + " skips every change " + sourceLabel + " makes to them,"
          + " so their rows written since they became published are missing there" + ON_ITS_WAY + "else run on " + targetLabel + ": "
          + UnsubscribedTables.remedy(subscription, tables));
    }
  }

  /**
   * Tables the target has that the source's publication does not carry ({@link UnpublishedTables}),
   * named until it does: nothing else shows them once the target has them (r30: old held 3 rows, new
   * none, and status said all was ready). Those the target lacks the schema comparison names.
   */
  private static void unpublished(Connection target, String sourceLabel, String targetLabel, String publication,
      List<TableName> unpublished, List<String> out) throws SQLException {
    List<UnsubscribedTables.Table> tables = new ArrayList<>();
    for (TableName t : unpublished) {
      UnsubscribedTables.onTarget(target, t).ifPresent(tables::add);
    }
    if (!tables.isEmpty()) {
      out.add("table(s) " + UnsubscribedTables.names(tables) + " on " + sourceLabel + " are not in " + sourceLabel + "'s publication "
          + publication + ", which lists its tables (no event trigger adds those created since start): replication does not carry"
          + " them, so every write to them on " + sourceLabel + " is missing on " + targetLabel + ", and the driver refuses to switch"
          + " until it does; "
          + UnpublishedTables.remedyOn(sourceLabel, publication, tables.stream().map(UnsubscribedTables.Table::name).toList())
          + "; then on " + targetLabel + ": " + UnsubscribedTables.remedy(publication, tables));
    }
  }

  /** Changes from the source that arrived without a statement (run inside a function, say). */
  private static void byHand(Connection target, String sourceLabel, String targetLabel, List<String> out) throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("SELECT l.id, l.tag, l.objects::text, l.note, l.query, l.rows_follow"
        + " FROM cutover.ddl_log l WHERE l.source = ? AND l.command IS NULL"
        + " AND NOT EXISTS (SELECT 1 FROM cutover.ddl_done d WHERE d.id = l.id) ORDER BY l.at")) {
      ps.setString(1, sourceLabel);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add("schema change " + rs.getString(1) + " on " + sourceLabel + " (" + rs.getString(2) + " " + rs.getString(3) + ") "
              + rs.getString(4) + "; query: " + oneLine(rs.getString(5)) + "; once done on " + targetLabel + " (after " + BY_HAND
              + (rs.getBoolean(6) ? "; " + EMPTY : "") + "), `cutover-replicator ddl-done " + Quoting.shellWord(rs.getString(1)) + "`");
        }
      }
    }
  }

  /** Changes made on the target itself, which the source does not have. */
  private static void alone(Connection target, String sourceLabel, String targetLabel, List<String> out) throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("SELECT l.id, l.tag, l.role, l.at::text, l.query FROM cutover.ddl_log l"
        + " WHERE l.source = ? AND NOT EXISTS (SELECT 1 FROM cutover.ddl_done d WHERE d.id = l.id) ORDER BY l.at")) {
      ps.setString(1, targetLabel);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add("schema change " + rs.getString(1) + " made on " + targetLabel + " alone (" + rs.getString(2) + " by " + rs.getString(3)
              + " at " + rs.getString(4) + "): " + oneLine(rs.getString(5)) + "; " + sourceLabel + " does not have it: make it there"
              + " too or undo it, then `cutover-replicator ddl-done " + Quoting.shellWord(rs.getString(1)) + "`");
        }
      }
    }
  }

  /**
   * The first change of the source's log that has not reached the target, while nothing is
   * applied; with it the later ones made in the same transaction (the same {@code xmin} of their
   * log rows), which arrive together, so that any of them may be the one the target refuses. Named
   * the first alone, the operator ran by hand one that was not failing (r22 #6).
   */
  private static void stuck(Connection source, Connection target, String sourceLabel, String targetLabel, List<String> out)
      throws SQLException {
    Set<String> arrived = new HashSet<>(Sql.strings(target, "SELECT id FROM cutover.ddl_log WHERE source = ?", sourceLabel));
    arrived.addAll(Sql.strings(target, "SELECT id FROM cutover.ddl_done"));
    List<String[]> next = new ArrayList<>();
    try (PreparedStatement ps = source.prepareStatement("SELECT id, coalesce(command, query), rows_follow, xmin::text FROM cutover.ddl_log"
        + " WHERE source = ? ORDER BY at")) {
      ps.setString(1, sourceLabel);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (!arrived.contains(rs.getString(1)) && (next.isEmpty() || next.get(0)[3].equals(rs.getString(4)))) {
            next.add(new String[] {rs.getString(1), rs.getString(2), String.valueOf(rs.getBoolean(3)), rs.getString(4)});
          } else if (!next.isEmpty()) {
            break;
          }
        }
      }
    }
    if (next.size() == 1) {
      String[] change = next.get(0);
      out.add("nothing is applied on " + targetLabel + ", and the next schema change from " + sourceLabel + " is " + change[0]
          + " (" + oneLine(change[1]) + "): if it fails there (see " + targetLabel + "'s server log), make it possible,"
          + " or run it by hand (after " + BY_HAND + (Boolean.parseBoolean(change[2]) ? "; " + EMPTY : "") + ") and `cutover-replicator"
          + " ddl-done " + change[0] + "`");
    } else if (next.size() > 1) {
      StringBuilder changes = new StringBuilder();
      boolean rowsFollow = false;
      for (String[] change : next) {
        changes.append(changes.length() == 0 ? "" : ", ").append(change[0]).append(" (").append(oneLine(change[1])).append(')');
        rowsFollow |= Boolean.parseBoolean(change[2]);
      }
      out.add("nothing is applied on " + targetLabel + ", and the next " + next.size() + " schema changes from " + sourceLabel
          + " were made in one transaction, which arrives whole or not at all: " + changes + ". One of them fails there: "
          + targetLabel + "'s server log names the statement (not always the first); make it possible, or run that one by hand"
          + " (after " + BY_HAND + (rowsFollow ? "; for CREATE TABLE AS or SELECT INTO, " + EMPTY : "") + ") and `cutover-replicator"
          + " ddl-done <its id>`, and the others apply with the transaction");
    }
  }

  /**
   * The source's schema against the target's, for schema changes that did not reach the target
   * (where nothing captures them, the only way to see one): tables the target lacks among those
   * the direction {@code carries} (trigger capture: those with capture triggers; the others are
   * reported as uncaptured), columns it lacks, columns of another type, enum values it lacks,
   * constraints it holds and the source does not, each with the statement to run there. A table
   * or column the target lacks may be one it has under another name, renamed on the source: then
   * the rename is offered first, since creating it afresh would leave the rows it holds behind
   * under the old name.
   */
  public static List<String> drift(Connection source, Connection target, String sourceLabel, String targetLabel,
      Predicate<TableName> carries) throws SQLException {
    List<String> out = new ArrayList<>();
    drift(source, target, sourceLabel, targetLabel, null, List.of(), carries, out);
    return out;
  }

  /**
   * {@link #drift}, with the REFRESH of {@code subscription} after tables the target lacks, and
   * before it the ALTER PUBLICATION for those of them in {@code unpublished}.
   */
  private static void drift(Connection source, Connection target, String sourceLabel, String targetLabel, String subscription,
      List<TableName> unpublished, Predicate<TableName> carries, List<String> out) throws SQLException {
    Map<String, Map<String, String>> s = columns(source);
    Map<String, Map<String, String>> t = columns(target);
    Wording w = new Wording(sourceLabel, targetLabel);
    List<TableName> tablesMissing = new ArrayList<>();
    // A schema, type or sequence the statements for one table or column create is not printed again for another.
    GivenPrerequisites given = new GivenPrerequisites();
    for (Map.Entry<String, Map<String, String>> e : s.entrySet()) {
      TableName table = name(e.getKey());
      Map<String, String> other = t.get(e.getKey());
      if (other != null) {
        columnDrift(source, target, table, e.getValue(), other, w, given, out);
      } else if (carries.test(table)) {
        tablesMissing.add(table);
        Map<String, String> renames = new LinkedHashMap<>();
        t.forEach((key, cols) -> {
          if (!s.containsKey(key) && cols.equals(e.getValue()) && name(key).schema().equals(table.schema())) {
            renames.put(name(key).toString(), "ALTER TABLE " + name(key).quoted() + " RENAME TO " + Sql.ident(table.name()));
          }
        });
        out.add("table " + table + " is on " + sourceLabel + " but not on " + targetLabel + ON_ITS_WAY + w.renameOr(renames, "table")
            + runOrSay(w, given, "table " + table, () -> CatalogDdl.createMissingWithSequences(source, target, table)));
      }
    }
    // Before PostgreSQL 12, ALTER TYPE ... ADD VALUE refuses to run in a transaction block, which a multi-statement string is.
    String alone = Sql.majorVersionOf(target) < 12 ? "each statement on its own, " : "";
    for (CatalogDdl.EnumGap gap : CatalogDdl.missingEnumValues(source, target)) {
      Map<String, String> renames = gap.renames().isEmpty() ? Map.of()
          : Map.of(String.join(", ", gap.renames().keySet().stream().map(Sql::literal).toList()), String.join("; ", gap.renaming()));
      out.add("enum " + gap.type() + " has value(s) " + gap.listed() + " on " + sourceLabel + " but not on " + targetLabel
          + ": a row holding one stops replication" + ON_ITS_WAY + w.renameOr(renames, "value(s)") + alone + w.run()
          + String.join("; ", gap.statements()));
    }
    for (ConstraintDrift.Difference d : ConstraintDrift.between(source, target, sourceLabel, targetLabel, true)) {
      out.add(d.toString());
    }
    out.addAll(ObjectDrift.lacking(source, target, w, given));
    out.addAll(PrivilegeDrift.between(source, target, w));
    if (!tablesMissing.isEmpty() && subscription != null) {
      List<TableName> toPublish = tablesMissing.stream().filter(unpublished::contains).toList();
      out.add("after creating tables on " + targetLabel + " by hand, " + (toPublish.isEmpty() ? "run there: "
          : UnpublishedTables.remedyOn(sourceLabel, subscription, toPublish)
              + " (its publication lists its tables, and no event trigger added them);"
              + " then on " + targetLabel + ": ") + "ALTER SUBSCRIPTION " + Sql.ident(subscription)
          + " REFRESH PUBLICATION WITH (copy_data = true), which copies their rows and then streams their changes");
    }
  }

  /**
   * The columns of one table on both sides ({@code ours} on the source, {@code theirs} on the
   * target; name to type): those only the source has (or a rename of one only the target has, of
   * the same type), those of another type, and those only the target has that a row from the
   * source cannot leave empty (NOT NULL without a default) and that no rename explains.
   */
  private static void columnDrift(Connection source, Connection target, TableName table, Map<String, String> ours,
      Map<String, String> theirs, Wording w, GivenPrerequisites given, List<String> out) throws SQLException {
    Map<String, String> onlyOurs = new LinkedHashMap<>(ours);
    onlyOurs.keySet().removeAll(theirs.keySet());
    Map<String, String> onlyTheirs = new LinkedHashMap<>(theirs);
    onlyTheirs.keySet().removeAll(ours.keySet());
    for (Map.Entry<String, String> column : onlyOurs.entrySet()) {
      Map<String, String> renames = new LinkedHashMap<>();
      onlyTheirs.forEach((name, type) -> {
        if (type.equals(column.getValue())) {
          renames.put(name, "ALTER TABLE " + table.quoted() + " RENAME COLUMN " + Sql.ident(name) + " TO " + Sql.ident(column.getKey()));
        }
      });
      String computed = CatalogDdl.computedDefault(source, table, column.getKey());
      out.add("column " + column.getKey() + " of " + table + " is on " + w.source() + " but not on " + w.target()
          + (computed == null ? "" : ", with a computed default (" + computed + "): added here, it gives the rows " + w.target()
              + " holds " + w.target() + "'s own values, which may differ from " + w.source() + "'s (`cutover-replicator verify`"
              + " lists them afterwards)") + ON_ITS_WAY + w.renameOr(renames, "column")
          + runOrSay(w, given, "column " + column.getKey() + " of " + table,
              () -> CatalogDdl.addColumnWithSequences(source, target, table, column.getKey())));
    }
    for (Map.Entry<String, String> column : ours.entrySet()) {
      String type = theirs.get(column.getKey());
      if (type != null && !type.equals(column.getValue())) {
        out.add("column " + column.getKey() + " of " + table + " is " + column.getValue() + " on " + w.source() + " but " + type
            + " on " + w.target() + ": replication reads each of " + w.source() + "'s values into " + w.target() + "'s type, so a"
            + " value that type cannot hold (too long, out of its range, not of its form) stops replication, and one it holds with"
            + " less precision (a numeric's decimals, a time's fractions of a second) is stored rounded, silently"
            + " (`cutover-replicator verify` lists those rows)" + ON_ITS_WAY + "if "
            + w.source() + "'s type is the one meant, " + w.run() + CatalogDdl.alterColumnType(source, table, column.getKey()) + "; if "
            + w.target() + "'s is (changed there first), make the same change on " + w.source());
      }
    }
    for (Map.Entry<String, String> column : onlyTheirs.entrySet()) {
      if (onlyOurs.containsValue(column.getValue())) {
        continue;
      }
      String drop = "ALTER TABLE " + table.quoted() + " DROP COLUMN " + Sql.ident(column.getKey());
      if (required(target, table, column.getKey())) {
        out.add("column " + column.getKey() + " of " + table + " is on " + w.target() + " but not on " + w.source() + ", NOT NULL"
            + " without a default: a row inserted on " + w.source() + " has no value for it, which stops replication. If it was"
            + " dropped on " + w.source() + ", " + w.run() + drop + "; if it is on its way to " + w.source() + " (added on " + w.target()
            + " first), give it a DEFAULT on " + w.target() + " until it gets there");
      } else {
        // Replication goes on: a row from the source leaves it to the target's default.
        out.add("column " + column.getKey() + " of " + table + " is on " + w.target() + " but not on " + w.source() + ": replication"
            + " goes on, and a row inserted on " + w.source() + " gets " + w.target() + "'s default in it (NULL without one), which"
            + " `cutover-replicator verify` does not compare" + ON_ITS_WAY + "if it was dropped on " + w.source() + ", " + w.run() + drop
            + "; if it is on its way to " + w.source() + " (added on " + w.target() + " first), nothing is lost meanwhile");
      }
    }
  }

  /** The statements to run (after {@code run}), or where none can make it on the target's version, why not and what to do. */
  public static String runOrSay(String run, Sql.ThrowingWork<List<String>, SQLException> statements) throws SQLException {
    try {
      return run + String.join("; ", statements.run());
    } catch (CatalogDdl.NotExpressible e) {
      return "no statement makes it as it is there: " + e.getMessage() + "; change it on the source into something that version"
          + " has (or drop it there), or else accept that the two sides differ in it, then make the rest by hand";
    }
  }

  /**
   * {@link #runOrSay} of {@code statements} without the prerequisites {@code given} by the
   * statements above, saying that they run after those where it left one out.
   */
  static String runOrSay(Wording w, GivenPrerequisites given, String subject,
      Sql.ThrowingWork<List<String>, SQLException> statements) throws SQLException {
    String remedy = runOrSay(w.run(), () -> given.notGiven(statements.run(), subject));
    return given.leftOut() ? w.runAfter() + remedy.substring(w.run().length()) : remedy;
  }

  /**
   * How the remedies of one direction are worded: its two sides, where a statement runs, and
   * {@code pending}, said of a difference before its statements ({@link #PENDING} while
   * replication runs, which may be bringing the change; empty before a start).
   */
  record Wording(String source, String target, String pending) {
    Wording(String source, String target) {
      this(source, target, PENDING);
    }

    String run() {
      return "run on " + target + ": " + BY_HAND + "; ";
    }

    /** {@link #run}, for statements that need what the statements printed above them create. */
    String runAfter() {
      return "run on " + target + ", after the statements above: " + BY_HAND + "; ";
    }

    /**
     * How a table or column the target lacks may be one of its own renamed on the source ({@code
     * renames}: the target's name to the statement that renames it), ending in "else " for what
     * follows; only "else " where nothing of the same shape could be it.
     */
    String renameOr(Map<String, String> renames, String what) {
      if (renames.isEmpty()) {
        return "else ";
      }
      String keeps = " (creating it afresh would leave behind the " + (what.equals("table") ? "rows" : "values") + " " + target
          + " holds under the old name); else ";
      if (renames.size() == 1) {
        Map.Entry<String, String> only = renames.entrySet().iterator().next();
        return "if it is " + target + "'s " + what + " " + only.getKey() + " renamed on " + source + ", " + run() + only.getValue() + keeps;
      }
      return "if it is one of " + target + "'s " + what + "s " + String.join(", ", renames.keySet()) + " renamed on " + source + ", "
          + run() + "whichever of " + String.join(" or ", renames.values()) + " applies" + keeps;
    }
  }

  /** Whether a row must give {@code column} a value: NOT NULL, with no default, identity or generation to fill it. */
  private static boolean required(Connection c, TableName table, String column) throws SQLException {
    return Sql.bool(c, "SELECT a.attnotnull AND NOT a.atthasdef" + (Sql.majorVersionOf(c) >= 10 ? " AND a.attidentity = ''" : "")
        + " FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attname = ?", table.regclass(), column);
  }

  /**
   * Columns (name to type, qualified unless in pg_catalog, so both servers print them alike) by
   * table (schema and name joined by U+0001) of the logged application tables, in one query.
   */
  private static Map<String, Map<String, String>> columns(Connection c) throws SQLException {
    return Sql.withCatalogPath(c, () -> columnsAsPrinted(c));
  }

  /** {@link #columns}, read under whatever search_path the session has. */
  private static Map<String, Map<String, String>> columnsAsPrinted(Connection c) throws SQLException {
    Map<String, Map<String, String>> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname, c.relname, a.attname,"
        + " format_type(a.atttypid, a.atttypmod) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        + " WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1, 2, a.attnum");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        Map<String, String> cols = out.computeIfAbsent(rs.getString(1) + "\u0001" + rs.getString(2), k -> new LinkedHashMap<>());
        if (rs.getString(3) != null) {
          cols.put(rs.getString(3), rs.getString(4));
        }
      }
    }
    return out;
  }

  static TableName name(String key) {
    int sep = key.indexOf('\u0001');
    return new TableName(key.substring(0, sep), key.substring(sep + 1));
  }

  private static String oneLine(String s) {
    String t = s == null ? "" : s.replaceAll("\\s+", " ").strip();
    return t.length() > 300 ? t.substring(0, 300) + "…" : t;
  }
}
