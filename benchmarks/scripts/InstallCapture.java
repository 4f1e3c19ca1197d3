import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Arrays;

/**
 * Installs trigger capture on the named public tables of a database, as on old, or with
 * {@code --way-back} as on new: {@code java InstallCapture.java <jdbc-url> [--way-back] <table>...}.
 */
public class InstallCapture {
  public static void main(String[] args) throws Exception {
    boolean wayBack = args.length > 1 && args[1].equals("--way-back");
    try (Connection c = DriverManager.getConnection(args[0])) {
      c.createStatement().execute("CREATE SCHEMA IF NOT EXISTS cutover");
      CaptureSchema.install(c, !wayBack);
      CaptureSchema.addTriggers(c, Arrays.stream(args).skip(wayBack ? 2 : 1).map(t -> new TableName("public", t)).toList());
    }
  }
}
