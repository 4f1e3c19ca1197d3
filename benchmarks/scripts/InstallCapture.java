import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Arrays;

/** Installs trigger capture on the named public tables of a database: {@code java InstallCapture.java <jdbc-url> <table>...}. */
public class InstallCapture {
  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection(args[0])) {
      c.createStatement().execute("CREATE SCHEMA IF NOT EXISTS cutover");
      CaptureSchema.install(c);
      CaptureSchema.addTriggers(c, "the database", Arrays.stream(args).skip(1).map(t -> new TableName("public", t)).toList());
    }
  }
}
