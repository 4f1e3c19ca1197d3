package dev.cutover.replicator;

import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** The {@code jdbc:cutover:} URLs tests switch through. */
public final class CutoverUrl {
  private CutoverUrl() {}

  /**
   * From {@code database} on the pair's old server to the same database on its new one, following
   * the {@link dev.cutover.flags.ManualFlag} named {@code <database>-flag}, as service {@code database}.
   */
  public static String manualFlag(PostgresPair pair, String database) {
    return "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + database
        + "?cutover.new.url=" + URLEncoder.encode(pair.newServer().jdbcUrl(database), StandardCharsets.UTF_8)
        + "&cutover.flag.provider=manual&cutover.flag.key=" + database + "-flag&cutover.service=" + database;
  }
}
