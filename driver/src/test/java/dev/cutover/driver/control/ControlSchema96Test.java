package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The control schema on a PostgreSQL 9.6 source (trigger capture's oldest), switched to 17 and back
 * by a role granted only the control plane: each step of a switch as its leader takes it, with the
 * barrier marker carried to the target the way the apply carries it (a row of {@code cutover.barrier}).
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 9, newMajor = 17)
class ControlSchema96Test {
  private static final String ROLE = "app96";
  private static final String SCHEMA = "CREATE TABLE account (id serial PRIMARY KEY, v int NOT NULL);"
      + " GRANT SELECT, INSERT, UPDATE, DELETE ON account TO " + ROLE + ";"
      + " GRANT USAGE, SELECT, UPDATE ON SEQUENCE account_id_seq TO " + ROLE;

  private static String database(PostgresServer server, String name) throws SQLException {
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    server.createDatabase(name);
    try (Connection c = server.connect(name); Statement s = c.createStatement()) {
      s.execute(SCHEMA);
      assertThat(ControlSchema.install(c, List.of(ROLE))).as("tables guarded on %s", server).isEqualTo(1);
      assertThat(ControlSchema.install(c, List.of(ROLE))).as("a second install on %s", server).isZero();
      assertThat(ControlSchema.installedVersion(c)).isEqualTo(OptionalInt.of(ControlSchema.VERSION));
    }
    return name;
  }

  @Test
  void switch_from96AndBack_stepsSucceedForTheGrantedRoleAndSequencesMoveBothWays(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer(), "cs96");
    database(pair.newServer(), db);
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, ROLE);
        Connection nw = ControlPlaneSecurityTest.as(pair.newServer(), db, ROLE)) {
      assertThat(old.getMetaData().getDatabaseMajorVersion()).isEqualTo(9);
      execute(old, "INSERT INTO account (v) SELECT g FROM generate_series(1, 50) g");

      String id = Coordination.begin(old, "svc", "to-new", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(old, "svc", id)).isTrue();
      assertThat(OperatorControl.services(old)).containsExactly("svc");
      assertThat(OperatorControl.read(old, "svc").lastSwitch().orElseThrow().leaderBackend()).as("the operator view on 9.6")
          .hasValueSatisfying(l -> assertThat(l.clientAddress()).as("its own session").isNotNull());
      Fence.raise(old, "svc", id, "i1", Duration.ofSeconds(5));
      assertThat(Fence.isRaised(old)).isTrue();
      assertThatThrownBy(() -> execute(old, "INSERT INTO account (v) VALUES (0)"))
          .isInstanceOf(SQLException.class).satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
      assertThatThrownBy(() -> execute(old, "SELECT cutover.lower_fence()")).as("installer only")
          .isInstanceOf(SQLException.class).satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
      String marker = Barrier.writeForSwitch(old, "svc", id);
      carryBarrier(pair, db, marker);
      assertThat(Barrier.await(nw, marker, Duration.ofSeconds(5))).isTrue();
      Sequences.Result forward = Sequences.advance(old, nw, 1000);
      assertThat(forward.moved()).isEqualTo(1);
      long newEpoch = Coordination.targetEpoch(nw, "svc");
      Coordination.release(old, "svc", id, marker, "i1", newEpoch);
      assertThat(Coordination.verifyRelease(old, "svc", id).problem()).isNull();
      assertThat(Coordination.openTarget(nw, "svc", id, newEpoch, Duration.ofSeconds(1)).map(Coordination.Opened::slots)).hasValue(0);
      assertThat(value(nw, "SELECT nextval('account_id_seq')")).isGreaterThan(1000);

      // The way back: new fenced, old opened, and old's sequence moved past new's (a 9.6 target).
      execute(nw, "INSERT INTO account (v) SELECT g FROM generate_series(1, 2000) g");
      String back = Coordination.begin(nw, "svc", "to-old", Target.NEW, Target.OLD);
      assertThat(Coordination.tryLead(nw, "svc", back)).isTrue();
      Fence.raise(nw, "svc", back, "i1", Duration.ofSeconds(5));
      Sequences.Result backward = Sequences.advance(nw, old, 1000);
      assertThat(backward.moved()).isEqualTo(1);
      assertThat(backward.missing()).isEmpty();
      assertThat(Coordination.openTarget(old, "svc", back, Coordination.targetEpoch(old, "svc"), Duration.ofSeconds(1))
          .map(Coordination.Opened::slots)).hasValue(0);
      assertThat(Fence.isRaised(old)).isFalse();
      assertThat(value(old, "SELECT nextval('account_id_seq')")).isGreaterThan(value(nw, "SELECT last_value FROM account_id_seq"));
      execute(old, "INSERT INTO account (v) VALUES (1)");
    }
  }

  /** What the apply does with a captured row of the barrier table: the same row on the target. */
  private static void carryBarrier(PostgresPair pair, String db, String marker) throws SQLException {
    try (Connection admin = pair.newServer().connect(db);
        java.sql.PreparedStatement ps = admin.prepareStatement("INSERT INTO cutover.barrier (marker) VALUES (?)")) {
      ps.setString(1, marker);
      ps.executeUpdate();
    }
  }

  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static long value(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
