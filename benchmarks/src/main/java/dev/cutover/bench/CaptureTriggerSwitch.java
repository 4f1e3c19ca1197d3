package dev.cutover.bench;

import dev.cutover.replicator.capture.CaptureSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Runs a benchmark's own {@code ALTER TABLE … ENABLE/DISABLE TRIGGER} statements on a side where
 * trigger capture runs, with capture's event trigger off meanwhile: it makes disabled capture
 * triggers again at once (as it must for an application's bulk fix), which would turn a variant
 * "without capture" into one with it, and give the log tables a benchmark creates capture triggers
 * of their own. Nor are they schema changes for the other side to replay.
 */
final class CaptureTriggerSwitch {
  private CaptureTriggerSwitch() {}

  static void run(Connection c, List<String> alters) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET cutover.ddl_capture = off");
      boolean follows = CaptureSchema.followsSchemaChanges(c);
      if (follows) {
        s.execute("ALTER EVENT TRIGGER " + CaptureSchema.EVENT_TRIGGER + " DISABLE");
      }
      try {
        for (String alter : alters) {
          s.execute(alter);
        }
      } finally {
        if (follows) {
          s.execute("ALTER EVENT TRIGGER " + CaptureSchema.EVENT_TRIGGER + " ENABLE ALWAYS");
        }
      }
    }
  }
}
