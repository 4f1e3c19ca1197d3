package dev.cutover.replicator.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Running a dump's script on new: the failing statement's own error is the one reported. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class SchemaRestoreTest {
  /**
   * A script that changes client_encoding makes PgJDBC close the connection; the search_path reset
   * after it then failed with "This connection has been closed", which read as a network reset.
   */
  @Test
  void restore_scriptClosesTheConnection_reportsWhyNotTheResetAfterIt(PostgresPair pair) throws Exception {
    String db = pair.newServer().createDatabase("schema_restore_closed");
    try (Connection n = pair.newServer().connect(db)) {
      assertThatThrownBy(() -> SchemaCopy.restore(n, "SET search_path = public; CREATE TABLE before_it (id int);"
          + " SET client_encoding = 'LATIN1'; CREATE TABLE after_it (id int);", "postgres"))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
            assertThat(e.getMessage()).startsWith("new: the schema script set client_encoding to other than UTF8")
                .contains("LATIN1").contains("schema changed nothing").doesNotContain("has been closed");
          });
    }
    try (Connection n = pair.newServer().connect(db); Statement s = n.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_class WHERE relname IN ('before_it', 'after_it')")) {
      rs.next();
      assertThat(rs.getInt(1)).as("nothing applied on new").isZero();
    }
  }

  @Test
  void restore_failingStatement_isReportedAndTheConnectionStaysUsable(PostgresPair pair) throws Exception {
    String db = pair.newServer().createDatabase("schema_restore_failing");
    try (Connection n = pair.newServer().connect(db)) {
      assertThatThrownBy(() -> SchemaCopy.restore(n, "SET search_path = public; CREATE TABLE t (id no_such_type);", "postgres"))
          .isInstanceOf(java.sql.SQLException.class).hasMessageContaining("no_such_type");
      try (Statement s = n.createStatement(); ResultSet rs = s.executeQuery("SHOW search_path")) {
        rs.next();
        assertThat(rs.getString(1)).as("reset after the failure").isEqualTo("\"$user\", public");
      }
    }
  }
}
