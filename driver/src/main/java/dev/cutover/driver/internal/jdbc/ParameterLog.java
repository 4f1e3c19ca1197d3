package dev.cutover.driver.internal.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters (and out-parameter registrations) set on a prepared statement, and its pending
 * batch, so that a statement prepared on one database can be executed on the other exactly as
 * the application set it up. One slot per parameter index: re-setting a parameter replaces it.
 */
final class ParameterLog {
  private static final Method[] NO_METHODS = new Method[0];

  private Method[] setters = NO_METHODS;
  private Object[][] values = new Object[0][];
  private Method[] outSetters = NO_METHODS;
  private Object[][] outValues = new Object[0][];
  private List<Object[][]> batch;
  private List<Method[]> batchSetters;

  void set(Method setter, Object[] args) {
    int i = (Integer) args[0];
    if (i >= setters.length) {
      int size = Math.max(i + 1, setters.length * 2);
      setters = Arrays.copyOf(setters, size);
      values = Arrays.copyOf(values, size);
    }
    if (i >= 0) {
      setters[i] = setter;
      values[i] = args;
    }
  }

  void registerOut(Method register, Object[] args) {
    int i = (Integer) args[0];
    if (i >= outSetters.length) {
      int size = Math.max(i + 1, outSetters.length * 2);
      outSetters = Arrays.copyOf(outSetters, size);
      outValues = Arrays.copyOf(outValues, size);
    }
    if (i >= 0) {
      outSetters[i] = register;
      outValues[i] = args;
    }
  }

  void clear() {
    Arrays.fill(setters, null);
    Arrays.fill(values, null);
  }

  void addBatch() {
    if (batch == null) {
      batch = new ArrayList<>();
      batchSetters = new ArrayList<>();
    }
    batch.add(values.clone());
    batchSetters.add(setters.clone());
  }

  void clearBatch() {
    if (batch != null) {
      batch.clear();
      batchSetters.clear();
    }
  }

  /** Sets up {@code ps} as the original was: registrations, the pending batch, then the current parameters. */
  void replay(PreparedStatement ps) throws SQLException {
    apply(ps, outSetters, outValues);
    if (batch != null) {
      for (int b = 0; b < batch.size(); b++) {
        apply(ps, batchSetters.get(b), batch.get(b));
        ps.addBatch();
      }
    }
    apply(ps, setters, values);
  }

  /** The interface method behind a recorded one (recorded methods belong to generated classes). */
  private static Method jdbcMethod(Method recorded) {
    try {
      return java.sql.PreparedStatement.class.getMethod(recorded.getName(), recorded.getParameterTypes());
    } catch (NoSuchMethodException e) {
      try {
        return java.sql.CallableStatement.class.getMethod(recorded.getName(), recorded.getParameterTypes());
      } catch (NoSuchMethodException unexpected) {
        throw new IllegalStateException("no JDBC method " + recorded, unexpected);
      }
    }
  }

  private static void apply(PreparedStatement ps, Method[] methods, Object[][] args) throws SQLException {
    for (int i = 0; i < methods.length; i++) {
      if (methods[i] != null) {
        try {
          jdbcMethod(methods[i]).invoke(ps, args[i]);
        } catch (InvocationTargetException e) {
          if (e.getCause() instanceof SQLException) {
            throw (SQLException) e.getCause();
          }
          throw new SQLException("cutover: replaying " + methods[i].getName() + " failed", "XX000", e.getCause());
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }
}
