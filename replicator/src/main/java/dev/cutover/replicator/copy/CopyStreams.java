package dev.cutover.replicator.copy;

import java.sql.SQLException;
import org.postgresql.copy.CopyOperation;

/** What every COPY piped from one side into the other does when it fails. */
public final class CopyStreams {
  private CopyStreams() {}

  /**
   * Ends {@code copy} if it is still going after {@code failure}, which the caller then throws. A
   * connection that was lost refuses; the refusal is kept as suppressed, so that the copy's own
   * failure is what is reported.
   */
  public static void cancelAfter(CopyOperation copy, Exception failure) {
    try {
      if (copy != null && copy.isActive()) {
        copy.cancelCopy();
      }
    } catch (SQLException refused) {
      failure.addSuppressed(refused);
    }
  }
}
