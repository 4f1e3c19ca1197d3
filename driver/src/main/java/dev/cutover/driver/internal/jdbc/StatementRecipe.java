package dev.cutover.driver.internal.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * How a statement was created, so that it can be created again on another physical connection.
 * The SQL is an argument rather than captured, so that the common recipes are constants and
 * creating a statement allocates no recipe.
 */
@FunctionalInterface
interface StatementRecipe {
  StatementRecipe STATEMENT = (c, sql) -> c.createStatement();
  StatementRecipe PREPARED = Connection::prepareStatement;
  StatementRecipe CALLABLE = Connection::prepareCall;

  /** Creates the statement on {@code physical}; {@code sql} is null for a plain statement. */
  Statement create(Connection physical, String sql) throws SQLException;
}
