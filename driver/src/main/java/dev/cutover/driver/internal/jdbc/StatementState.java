package dev.cutover.driver.internal.jdbc;

import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a {@link LogicalStatement} holds, apart from the object the application holds: how
 * it was created, its physical statement, settings, parameters and pending batch. A statement
 * closed cleanly gives its state back to its connection, and the connection's next statement
 * takes it (in {@code LogicalConnection.create}), so that a statement in steady state allocates
 * only its own small object. The statement drops its pointer before giving the state back: a
 * closed statement never reaches a later statement's parameters.
 */
final class StatementState {
  final LogicalConnection connection;
  /** How the statement was created, and the SQL it was created with (null for a plain statement). */
  StatementRecipe recipe;
  String sql;
  /** The physical statement, and the same as its subtypes (null when it is not one). */
  Statement statement;
  PreparedStatement prepared;
  CallableStatement callable;
  /** The physical connection {@link #statement} belongs to. */
  Connection bound;
  /** What the generated setters recorded (they call it directly, after delegating). */
  final ParameterLog parameters = new ParameterLog();
  /** Settings the application changed; created on the first, cleared on reuse. */
  private StatementSettings settings;
  /** A plain statement's pending batch, created on the first {@code addBatch}. */
  private List<String> batch;
  /**
   * One result set state to reuse for this statement's next results ({@link #takeResults}); a plain
   * field, owned by the thread using the statement (JDBC statements are used by one at a time).
   */
  private ResultSetState spareResults;

  StatementState(LogicalConnection connection) {
    this.connection = connection;
  }

  /** Starts a new statement on {@code s}, with nothing left of the previous one. */
  StatementState start(StatementRecipe recipe, String sql, Statement s) {
    this.recipe = recipe;
    this.sql = sql;
    use(s, connection.physical());
    if (settings != null) {
      settings.clear();
    }
    if (batch != null) {
      batch.clear();
    }
    parameters.reset();
    return this;
  }

  /** Points the generated delegation at {@code s}, a statement of {@code physical}. */
  void use(Statement s, Connection physical) {
    statement = s;
    prepared = s instanceof PreparedStatement ? (PreparedStatement) s : null;
    callable = s instanceof CallableStatement ? (CallableStatement) s : null;
    bound = physical;
  }

  StatementSettings settings() {
    if (settings == null) {
      settings = new StatementSettings();
    }
    return settings;
  }

  void addBatch(String sql) {
    if (batch == null) {
      batch = new ArrayList<>();
    }
    batch.add(sql);
  }

  /** A batch ends with its execution, successful or not, as in PgJDBC. */
  void batchDone() {
    if (batch != null) {
      batch.clear();
    }
    parameters.clearBatch();
  }

  /** Sets up {@code fresh} as the statement is: settings, pending batch, parameters. */
  void replay(Statement fresh) throws SQLException {
    if (settings != null) {
      settings.applyTo(fresh);
    }
    if (batch != null) {
      for (String s : batch) {
        fresh.addBatch(s);
      }
    }
    if (fresh instanceof PreparedStatement) {
      parameters.replay((PreparedStatement) fresh);
    }
  }

  /** The spare result set state, or a new one: for results {@code owner} hands out. */
  ResultSetState takeResults(LogicalStatement owner, ResultSet rs) {
    ResultSetState r = spareResults;
    spareResults = null;
    return (r == null ? new ResultSetState(connection) : r).start(owner, rs);
  }

  /** Keeps {@code r}, closed cleanly, for this statement's next results. */
  void giveBack(ResultSetState r) {
    spareResults = r;
  }
}
