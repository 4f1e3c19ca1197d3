package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EndpointTest {
  @Test
  void conninfo_fromJdbcUrl_quotesEveryValueAndKeepsSslmode() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:postgresql://db.internal:6432/app?sslmode=require", "o'brien", "p'w\\x");
    assertThat(e.conninfo()).isEqualTo("host='db.internal' port='6432' dbname='app' user='o\\'brien' password='p\\'w\\\\x'"
        + " sslmode='require'");
  }

  @Test
  void conninfo_given_isUsedAsIs() {
    Endpoint e = Endpoint.of(Side.NEW, "jdbc:postgresql://localhost/app", "u", null).withConninfo("host=10.0.0.5 dbname=app");
    assertThat(e.conninfo()).isEqualTo("host=10.0.0.5 dbname=app");
  }

  @Test
  void toString_passwordInUrlOrApart_isMasked() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:postgresql://h/app?password=hunter2", "u", "other-secret");
    assertThat(e.toString()).doesNotContain("hunter2").doesNotContain("other-secret").contains("password=***");
  }

  @Test
  void connect_cutoverUrl_failsWithConnectionFailureAndRemedy() {
    Endpoint e = Endpoint.of(Side.OLD, "jdbc:cutover:postgresql://h/app", null, null);
    org.assertj.core.api.Assertions.assertThatThrownBy(e::connect)
        .isInstanceOfSatisfying(ReplicatorException.class, x -> {
          assertThat(x.failure()).isEqualTo(Failure.CONNECTION);
          assertThat(x.remedy()).contains("plain jdbc:postgresql: URL");
        });
  }

  @Test
  void names_label_isSanitisedForSlotNames() {
    Names n = Names.of("My-App.Prod");
    assertThat(n.forwardSlot()).isEqualTo("cutover_fwd_my_app_prod");
    assertThat(n.reverseSlot()).isEqualTo("cutover_rev_my_app_prod");
  }
}
