package dev.cutover.replicator.bench;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;

/**
 * A measurement, not a test: {@code start} against a plain subscription (copy_data = true) into
 * an indexed schema, on the same generated data, on embedded servers.
 *
 * <pre>
 * mvn -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test -pl replicator
 * java -cp replicator/target/test-classes:replicator/target/classes:$(cat replicator/target/test.classpath) \
 *   dev.cutover.replicator.bench.CopySpeed [rows=1000000] [old=12] [new=17]
 * </pre>
 */
public final class CopySpeed {
  static final String SCHEMA = "CREATE TABLE account (id bigserial PRIMARY KEY, owner uuid NOT NULL, email text NOT NULL,"
      + " balance numeric(14,2) NOT NULL, created timestamptz NOT NULL, profile jsonb NOT NULL, pad text NOT NULL);"
      + " CREATE INDEX account_owner ON account (owner); CREATE INDEX account_email ON account (email);"
      + " CREATE INDEX account_created ON account (created)";

  private CopySpeed() {}

  public static void main(String[] args) throws Exception {
    long rows = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
    int oldMajor = args.length > 1 ? Integer.parseInt(args[1]) : 12;
    int newMajor = args.length > 2 ? Integer.parseInt(args[2]) : 17;
    try (PostgresPair pair = PostgresPair.start(oldMajor, newMajor)) {
      for (String db : new String[] {"speed_start", "speed_sub"}) {
        pair.oldServer().createDatabase(db);
        pair.newServer().createDatabase(db);
        try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db);
            Statement so = o.createStatement(); Statement sn = n.createStatement()) {
          so.execute(SCHEMA);
          sn.execute(SCHEMA);
          so.execute("INSERT INTO account (owner, email, balance, created, profile, pad) SELECT md5(g::text)::uuid,"
              + " 'user' || g || '@example.com', g % 100000 + 0.25, timestamptz '2020-01-01' + g * interval '1 second',"
              + " jsonb_build_object('n', g, 'tier', g % 5), repeat('x', 100) FROM generate_series(1, " + rows + ") g");
          so.execute("VACUUM ANALYZE account");
        }
      }
      long size;
      try (Connection o = pair.oldServer().connect("speed_start"); Statement s = o.createStatement();
          var rs = s.executeQuery("SELECT pg_total_relation_size('account')")) {
        rs.next();
        size = rs.getLong(1);
      }
      System.out.printf(Locale.ROOT, "%d rows, %.0f MB with indexes, PostgreSQL %d -> %d, %d cores%n", rows, size / 1048576.0,
          oldMajor, newMajor, Runtime.getRuntime().availableProcessors());

      Replicator r = Replicator.builder()
          .old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl("speed_start"), pair.oldServer().user(), pair.oldServer().password()))
          .nw(Endpoint.of(Side.NEW, pair.newServer().jdbcUrl("speed_start"), pair.newServer().user(), pair.newServer().password()))
          .build();
      long t0 = System.nanoTime();
      StartReport report = r.start(StartOptions.defaults().withChunkBytes(64L * 1024 * 1024), new CopyProgress(), CopyListener.NONE);
      r.awaitCaughtUp(Duration.ofMinutes(10));
      double start = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "start: %.1f s to caught up (copy %.1f s in %d chunks, %s, indexes %.1f s), %.0f rows/s%n",
          start, report.copyMillis() / 1000.0, report.tables().stream().mapToInt(StartReport.TableCopy::chunks).sum(),
          report.tables().stream().anyMatch(StartReport.TableCopy::binary) ? "binary" : "text", report.indexMillis() / 1000.0,
          rows / (report.copyMillis() / 1000.0));

      t0 = System.nanoTime();
      try (Connection o = pair.oldServer().connect("speed_sub"); Connection n = pair.newServer().connect("speed_sub")) {
        LogicalReplication.publishAll(o, "speed_pub");
        LogicalReplication.subscribe(n, "speed_sub", pair.oldServer().libpqConnection("speed_sub"), "speed_pub",
            LogicalReplication.InitialData.COPY);
        LogicalReplication.awaitSynced(o, n, "speed_sub", Duration.ofMinutes(20));
        LogicalReplication.drop(o, n, "speed_sub", Duration.ofSeconds(30));
      }
      double sub = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "plain subscription into the indexed schema: %.1f s; start is %.1fx faster%n", sub, sub / start);
      r.cleanup();
    }
  }
}
