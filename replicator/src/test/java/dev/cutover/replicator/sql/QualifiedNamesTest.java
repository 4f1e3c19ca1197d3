package dev.cutover.replicator.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Table names written on the command line, read as SQL reads them, and written back by {@link TableName#sqlName()}. */
class QualifiedNamesTest {
  @Test
  void list_quotedPartsKeepDotsCommasCaseAndQuotes_unquotedOnesFold() {
    List<TableName> names = QualifiedNames.list("public.Orders, public.\"Orders\",\"sch.x\".\"t\",\"t,1\",select.\"Us\"\"er'2\"").stream()
        .map(w -> w.folded("public")).toList();
    assertThat(names).containsExactly(new TableName("public", "orders"), new TableName("public", "Orders"),
        new TableName("sch.x", "t"), new TableName("public", "t,1"), new TableName("select", "Us\"er'2"));
  }

  @Test
  void sqlName_readBack_namesTheSameTable() {
    for (TableName t : List.of(new TableName("public", "orders"), new TableName("public", "Orders"), new TableName("sch.x", "t,1"),
        new TableName("public", "a$(touch /tmp/x)"), new TableName("select", "Us\"er'2"), new TableName("public", "Key less"),
        new TableName("s", "1st"))) {
      assertThat(QualifiedNames.one(t.sqlName()).folded("public")).as(t.sqlName()).isEqualTo(t);
    }
    assertThat(new TableName("public", "orders").sqlName()).isEqualTo("public.orders");
    assertThat(new TableName("public", "Orders").sqlName()).isEqualTo("public.\"Orders\"");
  }

  @Test
  void unquotedUpperCase_onlyOutsideQuotes() {
    assertThat(QualifiedNames.one("public.Orders").unquotedUpperCase()).isTrue();
    assertThat(QualifiedNames.one("public.\"Orders\"").unquotedUpperCase()).isFalse();
    assertThat(QualifiedNames.one("orders").qualified()).isFalse();
  }

  @Test
  void malformed_refusedSayingWhy() {
    assertThatThrownBy(() -> QualifiedNames.list("public.\"Orders")).hasMessageContaining("not closed");
    assertThatThrownBy(() -> QualifiedNames.list("sch.x.t")).hasMessageContaining("3 parts").hasMessageContaining("\"sch.x\"");
    assertThatThrownBy(() -> QualifiedNames.list("a,,b")).hasMessageContaining("a name is missing");
    assertThatThrownBy(() -> QualifiedNames.list("pub\"lic\".t")).hasMessageContaining("double quote inside a name");
    assertThatThrownBy(() -> QualifiedNames.one("a,b")).hasMessageContaining("2 tables");
  }
}
