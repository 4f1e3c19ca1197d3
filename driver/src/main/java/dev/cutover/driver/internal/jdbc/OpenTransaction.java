package dev.cutover.driver.internal.jdbc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.QueryExecutorBase;
import org.postgresql.core.TransactionState;

/**
 * Whether PgJDBC reports a connection in a transaction, read by the switch's thread without waiting
 * on the connection's owner.
 *
 * <p>Why not {@code getTransactionState()}: before 42.7 PgJDBC's getter is synchronized on the
 * query executor, which a thread waiting in {@code getNotifications(0)} holds for as long as it
 * waits; the switch, asking an idle listener whether PgJDBC opened a transaction behind the
 * driver's back, then waited with it until the switch aborted. So the field is read itself, as the
 * getter of 42.7 does (it is volatile there; an opaque read elsewhere); where it cannot be found
 * (a PgJDBC that renamed it, or one on the module path that does not open it), the getter.
 */
final class OpenTransaction {
  private static final VarHandle STATE = find();

  private OpenTransaction() {}

  static boolean in(BaseConnection c) {
    if (STATE == null) {
      return c.getTransactionState() != TransactionState.IDLE;
    }
    return STATE.getOpaque(c.getQueryExecutor()) != TransactionState.IDLE;
  }

  private static VarHandle find() {
    try {
      return MethodHandles.privateLookupIn(QueryExecutorBase.class, MethodHandles.lookup())
          .findVarHandle(QueryExecutorBase.class, "transactionState", TransactionState.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
