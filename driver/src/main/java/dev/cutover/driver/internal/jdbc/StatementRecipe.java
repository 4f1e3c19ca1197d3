package dev.cutover.driver.internal.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** How a statement was created, so that it can be created again on another physical connection. */
@FunctionalInterface
interface StatementRecipe {
  Statement create(Connection physical) throws SQLException;
}
