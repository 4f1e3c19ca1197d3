package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A router's documented lifetime: a data source that closes takes its unused routers with it, and
 * a router still used by an open connection lingers only for {@code cutover.router.linger} after
 * that connection closes, so a pool that goes away leaves no router (flag client, heartbeat) behind.
 */
@LeakCheckedPair
class RouterLifetimeTest {

  @Test
  void close_noConnectionOpen_closesItsRouterAtOnce(PostgresPair pair) throws Exception {
    CutoverDataSource ds = dataSource(pair, "lifetime_a", "1h");
    ds.getConnection().close();
    assertThat(running("lifetime_a")).isTrue();

    ds.close();

    await().atMost(Duration.ofSeconds(10)).until(() -> !running("lifetime_a"));
  }

  @Test
  void close_connectionStillOpen_keepsItsRouterUntilTheLingerAfterItCloses(PostgresPair pair) throws Exception {
    CutoverDataSource ds = dataSource(pair, "lifetime_b", "200ms");
    Connection open = ds.getConnection();
    ds.close();
    assertThat(running("lifetime_b")).isTrue();

    open.close();

    await().atMost(Duration.ofSeconds(10)).until(() -> !running("lifetime_b"));
  }

  private static boolean running(String service) {
    return CutoverDriver.routers().stream().anyMatch(r -> r.getService().equals(service));
  }

  private static CutoverDataSource dataSource(PostgresPair pair, String name, String linger) throws Exception {
    String db = pair.oldServer().createDatabase(name);
    pair.newServer().createDatabase(name);
    CutoverDataSource ds = new CutoverDataSource();
    ds.setUrl("jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db
        + "?cutover.router.linger=" + linger + "&cutover.new.url="
        + URLEncoder.encode(pair.newServer().jdbcUrl(db), StandardCharsets.UTF_8));
    ds.setUser(pair.oldServer().user());
    ds.setPassword(pair.oldServer().password());
    ds.setService(name);
    return ds;
  }
}
