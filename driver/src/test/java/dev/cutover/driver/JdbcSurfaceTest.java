package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.Outcome;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.io.StringReader;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Types;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/** The JDBC surface an application sees: our objects all the way down, PgJDBC within reach. */
@LeakCheckedPair
class JdbcSurfaceTest {
  private static final String SCHEMA = "CREATE SCHEMA app; CREATE TABLE app.item (id serial PRIMARY KEY, name text NOT NULL)";
  private static PostgresPair pair;

  @BeforeAll
  static void setUp(PostgresPair p) {
    pair = p;
  }

  private static Replicated db() throws Exception {
    return Replicated.create(pair, SCHEMA, true);
  }

  @Test
  void objects_handedOut_pointBackAtOurs() throws Exception {
    Replicated db = db();
    try (Connection c = DrainTest.connect(db.url()); Statement s = c.createStatement();
        PreparedStatement ps = c.prepareStatement("SELECT 1");
        CallableStatement cs = c.prepareCall("{? = call upper(?)}")) {
      assertThat(s.getConnection()).isSameAs(c);
      assertThat(ps.getConnection()).isSameAs(c);
      assertThat(cs.getConnection()).isSameAs(c);
      try (ResultSet rs = s.executeQuery("SELECT 1")) {
        assertThat(rs.getStatement()).isSameAs(s);
      }
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.getStatement()).isSameAs(ps);
      }
      DatabaseMetaData md = c.getMetaData();
      assertThat(md.getConnection()).isSameAs(c);
      try (ResultSet tables = md.getTables(null, "app", "item", null)) {
        assertThat(tables.next()).isTrue();
        assertThat(tables.getString("TABLE_NAME")).isEqualTo("item");
        assertThat(tables.getStatement()).isNull();
      }
      cs.registerOutParameter(1, Types.VARCHAR);
      cs.setString(2, "cutover");
      cs.execute();
      assertThat(cs.getString(1)).isEqualTo("CUTOVER");
    }
  }

  @Test
  void wrappers_implementEveryJdbcMethod() throws Exception {
    Replicated db = db();
    try (Connection c = DrainTest.connect(db.url()); Statement s = c.createStatement();
        PreparedStatement ps = c.prepareStatement("SELECT 1"); CallableStatement cs = c.prepareCall("SELECT 1");
        ResultSet rs = s.executeQuery("SELECT 1")) {
      for (Object o : List.of(c, s, ps, cs, rs, c.getMetaData())) {
        assertThat(Modifier.isAbstract(o.getClass().getModifiers())).as(o.getClass().getName()).isFalse();
        assertThat(Arrays.stream(o.getClass().getMethods()).filter(m -> Modifier.isAbstract(m.getModifiers()))
            .map(Method::toString)).as(o.getClass().getName()).isEmpty();
      }
      // default interface methods are delegated too
      s.executeUpdate("INSERT INTO app.item (name) VALUES ('x')");
      assertThat(s.getLargeUpdateCount()).isEqualTo(1L);
    }
  }

  @Test
  void batchesGeneratedKeysAndSavepoints_behaveAsInPgJdbc() throws Exception {
    Replicated db = db();
    try (Connection c = DrainTest.connect(db.url())) {
      try (Statement s = c.createStatement()) {
        s.addBatch("INSERT INTO app.item (name) VALUES ('a')");
        s.addBatch("INSERT INTO app.item (name) VALUES ('b')");
        assertThat(s.executeBatch()).containsExactly(1, 1);
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO app.item (name) VALUES (?)",
          Statement.RETURN_GENERATED_KEYS)) {
        ps.setString(1, "c");
        ps.addBatch();
        ps.setString(1, "d");
        ps.addBatch();
        assertThat(ps.executeBatch()).hasSize(2);
        ps.setString(1, "e");
        ps.executeUpdate();
        try (ResultSet keys = ps.getGeneratedKeys()) {
          assertThat(keys.next()).isTrue();
          assertThat(keys.getInt("id")).isEqualTo(5);
          assertThat(keys.getStatement()).isSameAs(ps);
        }
      }
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("INSERT INTO app.item (name) VALUES ('kept')");
        Savepoint sp = c.setSavepoint("sp");
        s.executeUpdate("INSERT INTO app.item (name) VALUES ('undone')");
        c.rollback(sp);
        c.commit();
        try (ResultSet rs = s.executeQuery("SELECT string_agg(name, ',' ORDER BY id) FROM app.item")) {
          rs.next();
          assertThat(rs.getString(1)).isEqualTo("a,b,c,d,e,kept");
        }
        c.commit();
      }
    }
  }

  @Test
  void unwrap_reachesPgConnection_andCopyWorks() throws Exception {
    Replicated db = db();
    try (Connection c = DrainTest.connect(db.url())) {
      assertThat(c.isWrapperFor(PGConnection.class)).isTrue();
      long copied = c.unwrap(PGConnection.class).getCopyAPI()
          .copyIn("COPY app.item (name) FROM STDIN", new StringReader("one\ntwo\nthree\n"));
      assertThat(copied).isEqualTo(3);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM app.item")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(3);
      }
    }
  }

  @Test
  void closedObjects_refuseWork() throws Exception {
    Replicated db = db();
    Connection c = DrainTest.connect(db.url());
    Statement s = c.createStatement();
    s.close();
    assertThat(s.isClosed()).isTrue();
    assertThatThrownBy(() -> s.executeQuery("SELECT 1")).isInstanceOf(SQLException.class).hasMessageContaining("closed");
    c.close();
    c.close();
    assertThat(c.isClosed()).isTrue();
    assertThat(c.isValid(1)).isFalse();
    assertThatThrownBy(c::createStatement)
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("08003"));
    assertThat(RouterBean.attribute(db.database, "LogicalConnections")).isEqualTo(0);
  }

  @Test
  void preparedBeforeSwitch_executedAfter_runsOnNewWithItsParameters() throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url());
        PreparedStatement single = c.prepareStatement("INSERT INTO app.item (name) VALUES (?)");
        PreparedStatement batch = c.prepareStatement("INSERT INTO app.item (name) VALUES (?)")) {
      single.setString(1, "prepared-before");
      batch.setString(1, "batched-1");
      batch.addBatch();
      batch.setString(1, "batched-2");
      batch.addBatch();

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      assertThat(single.executeUpdate()).isEqualTo(1);
      assertThat(batch.executeBatch()).hasSize(2);
      assertThat(names(db.newDirect())).containsExactly("prepared-before", "batched-1", "batched-2");
      assertThat(names(db.oldDirect())).isEmpty();
    }
  }

  @Test
  void sessionSettings_survivetheSwitch() throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url())) {
      c.setSchema("app");
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      c.setReadOnly(true);
      c.setClientInfo("ApplicationName", "surface-test");
      c.setAutoCommit(false);
      c.setHoldability(ResultSet.CLOSE_CURSORS_AT_COMMIT);

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT current_setting('port')::int, current_schema(), current_setting('transaction_isolation'),"
              + " current_setting('transaction_read_only'), current_setting('application_name')")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(pair.newServer().port());
        assertThat(rs.getString(2)).isEqualTo("app");
        assertThat(rs.getString(3)).isEqualTo("repeatable read");
        assertThat(rs.getString(4)).isEqualTo("on");
        assertThat(rs.getString(5)).isEqualTo("surface-test");
      }
      assertThat(c.getAutoCommit()).isFalse();
      assertThat(c.getHoldability()).isEqualTo(ResultSet.CLOSE_CURSORS_AT_COMMIT);
      c.rollback();
    }
  }

  private static List<String> names(Connection direct) throws SQLException {
    try (direct; Statement s = direct.createStatement();
        ResultSet rs = s.executeQuery("SELECT coalesce(array_agg(name ORDER BY id), '{}') FROM app.item")) {
      rs.next();
      return Arrays.asList((String[]) rs.getArray(1).getArray());
    }
  }
}
