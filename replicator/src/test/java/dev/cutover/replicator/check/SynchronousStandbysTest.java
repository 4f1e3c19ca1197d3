package dev.cutover.replicator.check;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How a synchronous_standby_names value is read for the names it takes (the server's grammar, its case-blind comparison). */
class SynchronousStandbysTest {

  @Test
  void names_everyForm_listsTheStandbyNames() {
    assertThat(SynchronousStandbys.names("*")).containsExactly("*");
    assertThat(SynchronousStandbys.names("s1, s2")).containsExactly("s1", "s2");
    assertThat(SynchronousStandbys.names("2 (s1, s2, s3)")).containsExactly("s1", "s2", "s3");
    assertThat(SynchronousStandbys.names("FIRST 1 (standby_a, \"Standby, B\")")).containsExactly("standby_a", "Standby, B");
    assertThat(SynchronousStandbys.names("ANY 2 (a, \"say \"\"hi\"\"\", *)")).containsExactly("a", "say \"hi\"", "*");
  }

  @Test
  void takes_starOrTheNameIgnoringCase_only() {
    assertThat(SynchronousStandbys.takes("*", "cutover_fwd_shop")).isTrue();
    assertThat(SynchronousStandbys.takes("ANY 1 (replica1, *)", "cutover_fwd_shop")).isTrue();
    assertThat(SynchronousStandbys.takes("FIRST 1 (CUTOVER_FWD_SHOP)", "cutover_fwd_shop")).isTrue();
    assertThat(SynchronousStandbys.takes("FIRST 1 (replica1, replica2)", "cutover_fwd_shop")).isFalse();
    assertThat(SynchronousStandbys.takes("\"*x\"", "cutover_fwd_shop")).isFalse();
  }
}
