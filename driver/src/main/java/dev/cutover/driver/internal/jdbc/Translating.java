package dev.cutover.driver.internal.jdbc;

import java.sql.SQLException;

/**
 * An object whose every method's errors pass through one translation before the application sees
 * them (see {@link Wrappers}): the owning connection decides, in one place, what an error of a
 * doomed or broken session becomes.
 */
interface Translating {
  SQLException translate(SQLException e);
}
