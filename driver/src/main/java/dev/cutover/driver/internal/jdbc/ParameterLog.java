package dev.cutover.driver.internal.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.CallableStatement;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters (and out-parameter registrations) set on a prepared statement, and its pending
 * batch, so that a statement prepared on one database can be executed on the other exactly as
 * the application set it up. One slot per parameter index: re-setting a parameter replaces it.
 *
 * <p>Recording allocates nothing once the arrays have grown to the statement's parameter count,
 * since it is on the path of every call: a slot holds the number of the setter in {@link #RECORDED},
 * its primitive arguments packed in one {@code long} and its reference arguments in two cells. A
 * generated setter calls {@link #set} (or {@link #registerOut}) and then one {@code put} per
 * argument after the index, in order. Replaying, after a switch, reads them back by the setter's
 * parameter types and may allocate.
 */
final class ParameterLog {
  /** The JDBC methods that are recorded; a slot holds the position here plus one (0: empty). */
  static final List<Method> RECORDED = recorded();

  private static final long[] NO_WORDS = new long[0];
  private static final Object[] NO_REFS = new Object[0];
  private static final int[] NO_ENDS = new int[0];

  /** Two per slot: the setter's number, then its primitive arguments. Slot {@code i} is index {@code i + 1}. */
  private long[] words = NO_WORDS;
  /** Two per slot: the setter's reference arguments. */
  private Object[] refs = NO_REFS;
  /** Slots in use: the highest index recorded since the last clear. */
  private int slots;
  /** While a setter's arguments are put: where the next reference goes, and the bit the next int starts at. */
  private int nextRef;
  private int nextBit;
  /** The slot being written, as the index into {@link #words} of its primitive word. */
  private int word;
  /** Out-parameter registrations, created on the first. */
  private ParameterLog out;
  /** The rows of the pending batch one after another, created on the first {@link #addBatch}. */
  private ParameterLog batch;
  /** Where each row of {@link #batch} ends, in slots. */
  private int[] rowEnds = NO_ENDS;
  private int rows;

  /** Opens the slot of parameter {@code index} for setter {@code setter}; its arguments follow. */
  void set(int setter, int index) {
    open(setter, index);
  }

  /** Opens the slot of out parameter {@code index}; its arguments follow through {@link #outLog()}. */
  void registerOut(int register, int index) {
    outLog().open(register, index);
  }

  ParameterLog outLog() {
    if (out == null) {
      out = new ParameterLog();
    }
    return out;
  }

  private void open(int setter, int index) {
    int slot = index - 1;
    if (slot < 0) {
      word = -1; // JDBC indexes start at 1: there is nothing to replay, the puts that follow are dropped
      return;
    }
    if (slot >= slots) {
      grow(slot + 1);
      slots = slot + 1;
    }
    word = 2 * slot + 1;
    words[word - 1] = setter;
    words[word] = 0;
    refs[2 * slot] = null;
    refs[2 * slot + 1] = null;
    nextRef = 2 * slot;
    nextBit = 0;
  }

  private void grow(int needed) {
    if (2 * needed > words.length) {
      int capacity = Math.max(needed, words.length); // doubles: words holds two per slot
      words = Arrays.copyOf(words, 2 * capacity);
      refs = Arrays.copyOf(refs, 2 * capacity);
    }
  }

  void putInt(int value) {
    if (word < 0) {
      return;
    }
    words[word] |= (value & 0xFFFF_FFFFL) << nextBit;
    nextBit += 32;
  }

  void putBoolean(boolean value) {
    putInt(value ? 1 : 0);
  }

  void putFloat(float value) {
    putInt(Float.floatToRawIntBits(value));
  }

  void putLong(long value) {
    if (word >= 0) {
      words[word] = value;
    }
  }

  void putDouble(double value) {
    putLong(Double.doubleToRawLongBits(value));
  }

  void putRef(Object value) {
    if (word >= 0) {
      refs[nextRef++] = value;
    }
  }

  void clear() {
    Arrays.fill(words, 0, 2 * slots, 0L);
    Arrays.fill(refs, 0, 2 * slots, null);
    slots = 0;
  }

  /** Forgets everything recorded, registrations and pending batch included; keeps the arrays for reuse. */
  void reset() {
    clear();
    clearBatch();
    if (out != null) {
      out.clear();
    }
  }

  /** Keeps the current parameters as the next row of the pending batch; they stay set, as in JDBC. */
  void addBatch() {
    if (batch == null) {
      batch = new ParameterLog();
    }
    int start = batch.slots;
    batch.grow(start + slots);
    System.arraycopy(words, 0, batch.words, 2 * start, 2 * slots);
    System.arraycopy(refs, 0, batch.refs, 2 * start, 2 * slots);
    batch.slots = start + slots;
    if (rows == rowEnds.length) {
      rowEnds = Arrays.copyOf(rowEnds, Math.max(4, 2 * rows));
    }
    rowEnds[rows++] = batch.slots;
  }

  void clearBatch() {
    if (batch != null) {
      batch.clear();
      rows = 0;
    }
  }

  /** Sets up {@code ps} as the original was: registrations, the pending batch, then the current parameters. */
  void replay(PreparedStatement ps) throws SQLException {
    if (out != null) {
      out.apply(ps, 0, out.slots);
    }
    int start = 0;
    for (int r = 0; r < rows; r++) {
      batch.apply(ps, start, rowEnds[r]);
      ps.addBatch();
      start = rowEnds[r];
    }
    apply(ps, 0, slots);
  }

  /** Calls the recorded setters of slots {@code from} (inclusive) to {@code to}, the index counted from {@code from}. */
  private void apply(PreparedStatement ps, int from, int to) throws SQLException {
    for (int slot = from; slot < to; slot++) {
      int setter = (int) words[2 * slot];
      if (setter == 0) {
        continue;
      }
      Method m = RECORDED.get(setter - 1);
      try {
        m.invoke(ps, arguments(m, slot, slot - from + 1));
      } catch (InvocationTargetException e) {
        if (e.getCause() instanceof SQLException) {
          throw (SQLException) e.getCause();
        }
        throw new SQLException("cutover: replaying " + m.getName() + " failed", "XX000", e.getCause());
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** The arguments of {@code m} as recorded in {@code slot}, in the order they were put. */
  private Object[] arguments(Method m, int slot, int index) {
    Class<?>[] types = m.getParameterTypes();
    Object[] args = new Object[types.length];
    args[0] = index;
    long bits = words[2 * slot + 1];
    int ref = 2 * slot;
    int bit = 0;
    for (int a = 1; a < types.length; a++) {
      Class<?> t = types[a];
      if (!t.isPrimitive()) {
        args[a] = refs[ref++];
      } else if (t == long.class) {
        args[a] = bits;
      } else if (t == double.class) {
        args[a] = Double.longBitsToDouble(bits);
      } else {
        int v = (int) (bits >>> bit);
        bit += 32;
        args[a] = t == int.class ? (Object) v
            : t == boolean.class ? (Object) (v != 0)
            : t == float.class ? (Object) Float.intBitsToFloat(v)
            : t == short.class ? (Object) (short) v
            : t == byte.class ? (Object) (byte) v
            : (Object) (char) v;
      }
    }
    return args;
  }

  /**
   * The setters of {@link PreparedStatement} and the registrations of {@link CallableStatement}
   * that take a parameter index, in a fixed order; each takes at most one {@code long} or
   * {@code double}, or two 32-bit primitives, and at most two references (checked here).
   */
  private static List<Method> recorded() {
    List<Method> methods = new ArrayList<>();
    for (Method m : PreparedStatement.class.getMethods()) {
      if (m.getDeclaringClass() == PreparedStatement.class && m.getName().startsWith("set") && takesIndex(m)) {
        methods.add(m);
      }
    }
    for (Method m : CallableStatement.class.getMethods()) {
      if (m.getDeclaringClass() == CallableStatement.class && m.getName().equals("registerOutParameter")
          && takesIndex(m)) {
        methods.add(m);
      }
    }
    methods.sort((a, b) -> a.toString().compareTo(b.toString()));
    for (Method m : methods) {
      int bits = 0;
      int references = 0;
      for (int a = 1; a < m.getParameterCount(); a++) {
        Class<?> t = m.getParameterTypes()[a];
        bits += !t.isPrimitive() ? 0 : t == long.class || t == double.class ? 64 : 32;
        references += t.isPrimitive() ? 0 : 1;
      }
      if (bits > 64 || references > 2) {
        throw new IllegalStateException("cutover: cannot record " + m + " in one slot");
      }
    }
    return List.copyOf(methods);
  }

  private static boolean takesIndex(Method m) {
    return m.getParameterCount() > 0 && m.getParameterTypes()[0] == int.class;
  }

  /** The number a slot holds for {@code m}, a method of {@link #RECORDED}. */
  static int number(Method m) {
    int i = RECORDED.indexOf(m);
    if (i < 0) {
      throw new IllegalArgumentException("cutover: not a recorded JDBC method: " + m);
    }
    return i + 1;
  }
}
