package dev.cutover.replicator.bench;

import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.Statement;

/**
 * Starts an embedded pair with a database {@code demo} (the schema on both sides, generated rows
 * on old), prints the URLs, and keeps running until its standard input closes: for trying the
 * CLI by hand. Arguments: rows, old major, new major.
 */
public final class DemoServers {
  private static final String SCHEMA = "CREATE TABLE account (id bigserial PRIMARY KEY, owner uuid NOT NULL, email text NOT NULL,"
      + " balance numeric(14,2) NOT NULL, created timestamptz NOT NULL, profile jsonb NOT NULL, pad text NOT NULL);"
      + " CREATE INDEX account_owner ON account (owner); CREATE INDEX account_email ON account (email);"
      + " CREATE INDEX account_created ON account (created)";

  private DemoServers() {}

  public static void main(String[] args) throws Exception {
    long rows = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
    try (PostgresPair pair = PostgresPair.start(args.length > 1 ? Integer.parseInt(args[1]) : 12,
        args.length > 2 ? Integer.parseInt(args[2]) : 17)) {
      pair.oldServer().createDatabase("demo");
      pair.newServer().createDatabase("demo");
      try (Connection o = pair.oldServer().connect("demo"); Connection n = pair.newServer().connect("demo");
          Statement so = o.createStatement(); Statement sn = n.createStatement()) {
        String schema = SCHEMA + "; CREATE TABLE small (id int PRIMARY KEY, v text)";
        so.execute(schema);
        sn.execute(schema);
        so.execute("INSERT INTO account (owner, email, balance, created, profile, pad) SELECT md5(g::text)::uuid,"
            + " 'user' || g || '@example.com', g % 100000 + 0.25, timestamptz '2020-01-01' + g * interval '1 second',"
            + " jsonb_build_object('n', g), repeat('x', 100) FROM generate_series(1, " + rows + ") g;"
            + " INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 1000) g");
        so.execute("VACUUM ANALYZE");
      }
      System.out.println("CUTOVER_REPLICATOR_OLD_URL=" + pair.oldServer().jdbcUrl("demo") + " CUTOVER_REPLICATOR_OLD_USER=" + pair.oldServer().user());
      System.out.println("CUTOVER_REPLICATOR_NEW_URL=" + pair.newServer().jdbcUrl("demo") + " CUTOVER_REPLICATOR_NEW_USER=" + pair.newServer().user());
      System.out.flush();
      while (System.in.read() >= 0) {
        // keep running until stdin closes
      }
    }
  }
}
