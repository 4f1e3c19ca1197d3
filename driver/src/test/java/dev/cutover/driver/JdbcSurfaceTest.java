package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.internal.jdbc.LogicalMetaData;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.io.StringReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Calendar;
import java.util.List;
import java.util.TimeZone;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

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

  /**
   * The reviewer's S7: a connection used only through PgJDBC's COPY and large-object APIs follows a
   * switch as a statement would, at the call that hands out the manager: it moved never, and every
   * COPY failed with 25006 on the fenced old while {@code isValid} said true.
   */
  @Test
  void copyAndLargeObjectApis_calledAfterSwitch_runOnNew() throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection copier = DrainTest.connect(db.url());
        Connection writer = DrainTest.connect(db.url())) {
      copier.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY app.item (name) FROM STDIN", new StringReader("before\n"));
      writer.setAutoCommit(false);
      DrainTest.writeLargeObject(writer, "before");
      writer.commit();

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      assertThat(copier.unwrap(PGConnection.class).getCopyAPI()
          .copyIn("COPY app.item (name) FROM STDIN", new StringReader("after\n"))).isEqualTo(1);
      long oid = DrainTest.writeLargeObject(writer, "after");
      writer.commit();
      db.awaitReplicated();
      assertThat(names(db.newDirect())).containsExactly("before", "after");
      assertThat(names(db.oldDirect())).containsExactly("before");
      try (Connection n = db.newDirect()) {
        assertThat(DrainTest.largeObjects(n, oid)).as("the large object written after the switch, on new").isEqualTo(1);
      }
    }
  }

  /**
   * With autocommit off, {@code DatabaseMetaData} queries, {@code getSchema()} and {@code
   * setSchema()} after a completed switch run where the session goes next, as a statement would:
   * they went straight to the physical connection the session still had on old, PgJDBC sent its
   * {@code BEGIN} there, and the transaction that followed joined it on fenced old (stale reads,
   * 25006 on table writes, and a large object written with SQL committed on old only: lost).
   */
  @Test
  void metadataAndSchemaCalls_afterSwitch_withAutocommitOff_moveTheSessionToNew() throws Exception {
    Replicated db = db();
    List<String> calls = List.of("getTables", "getColumns", "getPrimaryKeys", "getSchema", "setSchema");
    List<Connection> connections = new ArrayList<>();
    SoftAssertions soft = new SoftAssertions();
    try (SwitchEvents events = new SwitchEvents(db.database)) {
      for (int i = 0; i < calls.size(); i++) {
        Connection c = DrainTest.connect(db.url());
        connections.add(c);
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
          s.execute("SELECT 1");
        }
        c.commit();
      }
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      for (int i = 0; i < calls.size(); i++) {
        Connection c = connections.get(i);
        switch (calls.get(i)) {
          case "getTables" -> c.getMetaData().getTables(null, "app", "item", null).close();
          case "getColumns" -> c.getMetaData().getColumns(null, "app", "item", null).close();
          case "getPrimaryKeys" -> c.getMetaData().getPrimaryKeys(null, "app", "item").close();
          case "getSchema" -> soft.assertThat(c.getSchema()).isEqualTo("public");
          default -> c.setSchema("app");
        }
        long oid = 777001 + i;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
            "SELECT inet_server_port(), lo_from_bytea(" + oid + ", 'x')")) {
          rs.next();
          soft.assertThat(rs.getInt(1)).as("the transaction after %s ran on new", calls.get(i))
              .isEqualTo(pair.newServer().port());
        }
        c.commit();
        try (Connection n = db.newDirect()) {
          soft.assertThat(DrainTest.largeObjects(n, oid)).as("the large object written after %s, on new", calls.get(i))
              .isEqualTo(1);
        }
      }
      soft.assertAll();
    } finally {
      for (Connection c : connections) {
        c.close();
      }
    }
  }

  /**
   * The metadata methods the driver lets through without the gate (housekeeping: {@code
   * getDatabaseProductName}, {@code supports...}) are those PgJDBC answers without a query: with
   * autocommit off none of them opens a transaction, on the PgJDBC under test (this class runs on
   * both ends of the supported range). A method missing from {@link LogicalMetaData#QUERYING} would
   * open one on whatever side the session is, as all metadata calls did before.
   */
  @Test
  void metadataAnsweredWithoutAQuery_opensNoTransaction() throws Exception {
    Replicated db = db();
    try (Connection c = DrainTest.connect(db.url())) {
      c.setAutoCommit(false);
      DatabaseMetaData md = c.getMetaData();
      BaseConnection physical = c.unwrap(BaseConnection.class);
      List<String> opened = new ArrayList<>();
      int called = 0;
      for (Method m : DatabaseMetaData.class.getMethods()) {
        if (m.getDeclaringClass() != DatabaseMetaData.class || m.getReturnType() == ResultSet.class
            || LogicalMetaData.QUERYING.contains(m.getName()) || m.getName().equals("getConnection")) {
          continue;
        }
        Object[] args = new Object[m.getParameterCount()];
        for (int i = 0; i < args.length; i++) {
          Class<?> t = m.getParameterTypes()[i];
          args[i] = t == int.class ? 0 : t == boolean.class ? false : null;
        }
        try {
          m.invoke(md, args);
        } catch (InvocationTargetException e) {
          // an argument it refuses: whether it opened a transaction is what counts
        }
        called++;
        if (physical.getTransactionState() != TransactionState.IDLE) {
          opened.add(m.getName());
          c.rollback();
        }
      }
      assertThat(called).as("methods called").isGreaterThan(100);
      assertThat(opened).as("metadata methods PgJDBC answers with a query, missing from LogicalMetaData.QUERYING")
          .isEmpty();
    }
  }

  /**
   * A {@code DatabaseMetaData} taken before the session moved works after it: it was bound to the
   * physical connection the move closed, and failed with PgJDBC's {@code 08003 This connection has
   * been closed.}, which HikariCP takes for a broken connection.
   */
  @Test
  void metadataKeptAcrossAMove_worksOnTheSideThatServes() throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url())) {
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet tables = md.getTables(null, "app", "item", null)) {
        assertThat(tables.next()).isTrue();
      }
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT inet_server_port()")) {
        rs.next();
        assertThat(rs.getInt(1)).as("moved").isEqualTo(pair.newServer().port());
      }

      try (ResultSet tables = md.getTables(null, "app", "item", null)) {
        assertThat(tables.next()).isTrue();
        assertThat(tables.getString("TABLE_NAME")).isEqualTo("item");
      }
      assertThat(md.getConnection()).isSameAs(c);
      assertThat(md.getURL()).contains(String.valueOf(pair.newServer().port()));
    }
  }

  /**
   * PgJDBC's parameters in the application's URL (schema, session options, application name) hold
   * on new as on old, for a session that moved and for one opened after the switch: they reached
   * only old, and an unqualified INSERT after the switch landed in new's public schema.
   */
  @Test
  void pgJdbcParametersOfTheUrl_holdOnNewAfterTheSwitch() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA + "; CREATE TABLE public.item (id serial PRIMARY KEY, name text NOT NULL)", true);
    String url = db.url("currentSchema=app", "options=-c%20statement_timeout%3D4321", "ApplicationName=booking");
    try (SwitchEvents events = new SwitchEvents(db.database); Connection moved = DrainTest.connect(url)) {
      assertThat(session(moved)).isEqualTo("app|4321ms|booking");
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      try (Connection fresh = DrainTest.connect(url)) {
        for (Connection c : List.of(moved, fresh)) {
          assertThat(session(c)).as("on new").isEqualTo("app|4321ms|booking");
          try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO item (name) VALUES ('after')");
          }
        }
      }
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT (SELECT count(*) FROM app.item) || '|' || (SELECT count(*) FROM public.item)")) {
        rs.next();
        assertThat(rs.getString(1)).as("rows in app.item | public.item on new").isEqualTo("2|0");
      }
    }
  }

  private static String session(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema() || '|' ||"
        + " current_setting('statement_timeout') || '|' || current_setting('application_name') WHERE inet_server_port() IS NOT NULL")) {
      rs.next();
      return rs.getString(1);
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

  /**
   * The reviewer's r13 S2: the rows of an updatable result set read on old before a switch, written
   * after it. {@code updateRow} went to the physical connection the rows were read on, the fenced
   * old, and failed with the fence's 25006 while new kept the row unchanged. A row write now starts a
   * transaction as a statement does (through the gate, moving the session), and one whose rows were
   * read on a connection the session has left is refused before anything is sent, with 24000 saying
   * to read them again; read again on new, they update there.
   */
  @Test
  void updatableResultSet_readBeforeSwitch_writtenAfter_isRefusedSayingToReadItAgain_andUpdatesOnNewReadAgain()
      throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url());
        Statement s = c.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
      s.executeUpdate("INSERT INTO app.item (name) VALUES ('one'), ('two')");
      ResultSet rs = s.executeQuery("SELECT id, name FROM app.item ORDER BY id");
      assertThat(rs.next()).isTrue();

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      rs.updateString("name", "changed");
      assertReadAgain(rs::updateRow);
      assertReadAgain(rs::deleteRow);
      assertReadAgain(rs::refreshRow);
      assertReadAgain(rs::moveToInsertRow);
      assertReadAgain(() -> rs.updateString("name", "again"));
      assertReadAgain(rs::insertRow);
      assertThat(DrainTest.sideOf(c)).as("the session moved at the first row write").isEqualTo(pair.newServer().port());
      assertThat(names(db.newDirect())).containsExactly("one", "two");

      try (ResultSet again = s.executeQuery("SELECT id, name FROM app.item ORDER BY id")) {
        assertThat(again.next()).isTrue();
        again.updateString("name", "changed");
        again.updateRow();
        again.moveToInsertRow();
        again.updateString("name", "inserted");
        again.insertRow();
      }
      assertThat(names(db.newDirect())).containsExactly("changed", "two", "inserted");
      assertThat(names(db.oldDirect())).containsExactly("one", "two");
    }
  }

  private static void assertReadAgain(ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("24000"))
        .hasMessageContaining("read on the old database, which this session left for the new database")
        .hasMessageContaining("nothing was sent")
        .hasMessageContaining("run its query again");
  }

  /**
   * An updatable result set read in a transaction still open at the flip (autocommit off): its row
   * write belongs to that transaction, so it runs on old while the switch drains, and reaches new
   * with the commit before anything runs there (no move in the middle of a transaction).
   */
  @Test
  void updatableResultSet_inATransactionOpenAtTheFlip_writesOnOldAndIsDrainedToNew() throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url());
        Statement s = c.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
      s.executeUpdate("INSERT INTO app.item (name) VALUES ('one')");
      c.setAutoCommit(false);
      ResultSet rs = s.executeQuery("SELECT id, name FROM app.item ORDER BY id");
      assertThat(rs.next()).isTrue();

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10))
          .until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      rs.updateString("name", "changed");
      rs.updateRow();
      c.commit();

      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      assertThat(names(db.newDirect())).containsExactly("changed");
      assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
    }
  }

  /**
   * An updatable result set read in a transaction the switch rolls back (open past the drain
   * timeout): its row write fails with the doom's 40001 like any call of that transaction; after
   * the rollback the rows belong to a connection the switch ended, and the write (and the change of
   * a column, for which PgJDBC asks that connection for the table's key) is refused with 24000 saying
   * to read them again: it failed with PgJDBC's "This connection has been closed" (08003, which a
   * pool takes for a broken connection).
   */
  @Test
  void updatableResultSet_inATransactionTheSwitchRollsBack_fails40001_thenAfterRollbackIsRefusedSayingToReadItAgain()
      throws Exception {
    Replicated db = db();
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection c = DrainTest.connect(db.url("cutover.drain.timeout=300ms"));
        Statement s = c.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
      s.executeUpdate("INSERT INTO app.item (name) VALUES ('one')");
      c.setAutoCommit(false);
      ResultSet rs = s.executeQuery("SELECT id, name FROM app.item ORDER BY id");
      assertThat(rs.next()).isTrue();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isEqualTo(1);

      assertThatThrownBy(rs::updateRow)
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
      assertThatThrownBy(() -> rs.updateString("name", "changed")).as("PgJDBC asks the ended connection for the key")
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
      c.rollback();
      assertReadAgain(() -> rs.updateString("name", "changed"));
      assertReadAgain(rs::moveToInsertRow);
      assertReadAgain(rs::updateRow);

      try (ResultSet again = s.executeQuery("SELECT id, name FROM app.item ORDER BY id")) {
        assertThat(again.next()).isTrue();
        again.updateString("name", "changed");
        again.updateRow();
      }
      c.commit();
      assertThat(names(db.newDirect())).containsExactly("changed");
    }
  }

  private static final String TYPED_SCHEMA = "CREATE SCHEMA app; CREATE TABLE app.typed (id serial PRIMARY KEY,"
      + " i int, l bigint, s smallint, b boolean, d double precision, f real, n numeric, t text,"
      + " ts timestamptz, bin bytea, nul int, o int)";
  private static final String TYPED_INSERT = "INSERT INTO app.typed (i, l, s, b, d, f, n, t, ts, bin, nul, o)"
      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  private static final String TYPED_ROW = "123456789|9000000000|-7|t|25000000000.125|1.5|12345.678|text|1700000000123|"
      + "\\x0102ff|null|42";

  /** Sets a parameter of every kind of argument the log packs: ints, long, double, float, boolean, references, two ints. */
  private static void bindTyped(PreparedStatement ps) throws SQLException {
    ps.setInt(1, 123_456_789);
    ps.setLong(2, 9_000_000_000L);
    ps.setShort(3, (short) -7);
    ps.setBoolean(4, true);
    ps.setDouble(5, 25_000_000_000.125);
    ps.setFloat(6, 1.5f);
    ps.setBigDecimal(7, new BigDecimal("12345.678"));
    ps.setString(8, "text");
    ps.setTimestamp(9, new Timestamp(1_700_000_000_123L), Calendar.getInstance(TimeZone.getTimeZone("UTC")));
    ps.setBytes(10, new byte[] {1, 2, (byte) 0xff});
    ps.setNull(11, Types.INTEGER);
    ps.setObject(12, "42", Types.INTEGER);
  }

  @Test
  void preparedWithSettersOfEveryKind_executedAcrossSwitch_replaysExactValuesAndTakesNewOnes() throws Exception {
    Replicated db = Replicated.create(pair, TYPED_SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url());
        PreparedStatement ps = c.prepareStatement(TYPED_INSERT)) {
      bindTyped(ps);
      ps.setInt(1, 0);
      ps.setInt(1, 123_456_789); // set twice: the last value counts
      assertThatThrownBy(() -> ps.setInt(13, 1)).isInstanceOf(SQLException.class); // refused: nothing to replay
      assertThat(ps.executeUpdate()).isEqualTo(1);

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      assertThat(ps.executeUpdate()).isEqualTo(1); // not bound again: the recorded values
      ps.setLong(2, -1L);
      ps.setNull(8, Types.VARCHAR);
      ps.setDouble(5, -0.5);
      assertThat(ps.executeUpdate()).isEqualTo(1); // bound again in part
      ps.clearParameters();
      bindTyped(ps);
      assertThat(ps.executeUpdate()).isEqualTo(1);

      assertThat(typedRows(db.oldDirect())).containsExactly(TYPED_ROW);
      assertThat(typedRows(db.newDirect())).containsExactly(TYPED_ROW, TYPED_ROW,
          "123456789|-1|-7|t|-0.5|1.5|12345.678|null|1700000000123|\\x0102ff|null|42", TYPED_ROW);
    }
  }

  @Test
  void batchCallableAndStatementSettings_setUpBeforeSwitch_runOnNewAsSetUp() throws Exception {
    Replicated db = Replicated.create(pair, TYPED_SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url());
        PreparedStatement batch = c.prepareStatement(TYPED_INSERT);
        CallableStatement rounded = c.prepareCall("{? = call round(?, 2)}");
        Statement limited = c.createStatement()) {
      limited.setMaxRows(2);
      limited.setFetchSize(1000);
      limited.setQueryTimeout(7);
      limited.setPoolable(false);
      bindTyped(batch);
      batch.addBatch();
      batch.setLong(2, 5L);
      batch.setBoolean(4, false);
      batch.addBatch();
      rounded.registerOutParameter(1, Types.NUMERIC, 2);
      rounded.setBigDecimal(2, new BigDecimal("3.14159"));
      rounded.execute();
      assertThat(rounded.getBigDecimal(1)).isEqualByComparingTo("3.14");

      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

      assertThat(batch.executeBatch()).containsExactly(1, 1);
      rounded.execute();
      assertThat(rounded.getBigDecimal(1)).isEqualByComparingTo("3.14");
      assertThat(typedRows(db.oldDirect())).isEmpty();
      assertThat(typedRows(db.newDirect())).containsExactly(TYPED_ROW,
          "123456789|5|-7|f|25000000000.125|1.5|12345.678|text|1700000000123|\\x0102ff|null|42");
      int rows = 0;
      try (ResultSet rs = limited.executeQuery("SELECT generate_series(1, 5)")) {
        while (rs.next()) {
          rows++;
        }
      }
      assertThat(rows).isEqualTo(2);
      assertThat(limited.getMaxRows()).isEqualTo(2);
      assertThat(limited.getFetchSize()).isEqualTo(1000);
      assertThat(limited.getQueryTimeout()).isEqualTo(7);
      assertThat(limited.isPoolable()).isFalse();
    }
  }

  private static List<String> typedRows(Connection direct) throws SQLException {
    try (direct; Statement s = direct.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT concat_ws('|', i, l, s, b, d, f, n, coalesce(t, 'null'), (extract(epoch FROM ts) * 1000)::bigint, bin,"
            + " coalesce(nul::text, 'null'), o) FROM app.typed ORDER BY id")) {
      List<String> rows = new ArrayList<>();
      while (rs.next()) {
        rows.add(rs.getString(1));
      }
      return rows;
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
