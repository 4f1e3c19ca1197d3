package dev.cutover.torture;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One application instance as the harness starts it, in its own JVM or in the harness's: written
 * as JSON into the instance's folder, which is also where it writes its journal and status.
 *
 * @param name the instance's name, unique per incarnation ({@code cutover.instance})
 * @param directory the instance's folder
 * @param oldAddress host:port by which it reaches old (a proxy of its own)
 * @param newAddress host:port by which it reaches new (a proxy of its own)
 * @param user the application's role on both sides
 * @param flagFile the flag file it follows, or null to follow the in-JVM manual flag {@link #MANUAL_FLAG}
 * @param rate operations per second it aims at, over all its writers
 * @param writers writer threads
 * @param poolSize the HikariCP pool's size
 * @param seed its workload's seed
 * @param drainMillis {@code cutover.drain.timeout}
 * @param barrierMillis {@code cutover.barrier.timeout}
 */
record InstanceSpec(String name, Path directory, String oldAddress, String newAddress, String user, Path flagFile,
    double rate, int writers, int poolSize, long seed, long drainMillis, long barrierMillis) {

  static final String SERVICE = "torture";
  static final String MANUAL_FLAG = "torture";
  static final String FILE = "spec.json";

  /** The application's URL: old through its proxy, new through its proxy, the flag, the timeouts. */
  String url() {
    String newUrl = "jdbc:postgresql://" + newAddress + "/" + TortureSchema.DATABASE;
    StringBuilder url = new StringBuilder("jdbc:cutover:postgresql://").append(oldAddress).append('/')
        .append(TortureSchema.DATABASE)
        .append("?cutover.new.url=").append(encode(newUrl))
        .append("&cutover.service=").append(SERVICE)
        .append("&cutover.instance=").append(encode(name))
        .append("&cutover.drain.timeout=").append(drainMillis)
        .append("&cutover.barrier.timeout=").append(barrierMillis);
    if (flagFile == null) {
      url.append("&cutover.flag.provider=manual&cutover.flag.key=").append(MANUAL_FLAG);
    } else {
      url.append("&cutover.flag.provider=file&cutover.flag.file=").append(encode(flagFile.toString()));
    }
    return url.toString();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
