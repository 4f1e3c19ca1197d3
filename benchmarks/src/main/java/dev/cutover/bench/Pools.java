package dev.cutover.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.testkit.PostgresServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** HikariCP pools through plain PgJDBC and through Cutover, configured alike. */
final class Pools {
  private Pools() {}

  static HikariDataSource plain(PostgresServer server, String db, int size) {
    return pool(server.jdbcUrl(db), server.user(), size, "plain");
  }

  /** A Cutover pool whose old side is {@code old} and new side {@code nw}; extra settings appended. */
  static HikariDataSource cutover(PostgresServer old, PostgresServer nw, String db, int size, String... settings) {
    StringBuilder url = new StringBuilder("jdbc:cutover:postgresql://").append(old.host()).append(':')
        .append(old.port()).append('/').append(db).append("?cutover.new.url=")
        .append(URLEncoder.encode(nw.jdbcUrl(db), StandardCharsets.UTF_8));
    for (String s : settings) {
      url.append('&').append(s);
    }
    return pool(url.toString(), old.user(), size, "cutover");
  }

  private static HikariDataSource pool(String url, String user, int size, String name) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(size);
    config.setPoolName(name);
    return new HikariDataSource(config);
  }
}
