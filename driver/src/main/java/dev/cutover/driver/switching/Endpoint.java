package dev.cutover.driver.switching;

import dev.cutover.driver.config.Secrets;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;

/** How to open a physical connection to one side. Secrets stay inside; messages are masked. */
public final class Endpoint {
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  private final Target side;
  private final String url;
  private final Properties properties;

  public Endpoint(Target side, String url, Properties properties) {
    this.side = side;
    this.url = url;
    this.properties = properties;
  }

  /** Opens a physical connection; failures name the side and the masked URL, cause chained. */
  public Connection open() throws SQLException {
    try {
      Connection c = PG.connect(url, properties);
      if (c == null) {
        throw new SQLException("cutover: PgJDBC did not accept " + this, "08001");
      }
      return c;
    } catch (SQLException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("cutover:")) {
        throw e;
      }
      String state = e.getSQLState() != null ? e.getSQLState() : "08001";
      throw new SQLException("cutover: cannot connect to the " + side.value() + " database " + Secrets.maskUrl(url)
          + ": " + Secrets.maskUrl(e.getMessage()), state, e);
    }
  }

  @Override
  public String toString() {
    return side.value() + " database " + Secrets.maskUrl(url);
  }
}
