import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Arrays;

/**
 * Installs trigger capture on the named public tables of a database: {@code java InstallCapture.java <jdbc-url> <table>...}.
 * {@code --reals-exactly} in place of the tables then makes the capture log reals as doubles, as reverse does on new into a
 * server older than 12 ({@link CaptureSchema#logRealsExactly}).
 */
public class InstallCapture {
  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection(args[0])) {
      if (args.length == 2 && args[1].equals("--reals-exactly")) {
        CaptureSchema.logRealsExactly(c);
        return;
      }
      c.createStatement().execute("CREATE SCHEMA IF NOT EXISTS cutover");
      CaptureSchema.install(c);
      CaptureSchema.addTriggers(c, "the database", Arrays.stream(args).skip(1).map(t -> new TableName("public", t)).toList());
    }
  }
}
