package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

/**
 * Labels at their limit (review r33): a label was cut to 40 characters, so
 * {@code acme_orders_migration_to_aurora_cluster_eu_west_1} and {@code …_us_east_1} named one
 * migration's objects, and cleanup of the second dropped the first's live slot.
 */
class NamesTest {
  private static final String EU = "acme_orders_migration_to_aurora_cluster_eu_west_1";
  private static final String US = "acme_orders_migration_to_aurora_cluster_us_east_1";

  @Test
  void of_labelOfFortyCharacters_keptWhole() {
    String forty = "a".repeat(40);
    assertThat(Names.of(forty).forwardSlot()).isEqualTo("cutover_fwd_" + forty);
  }

  @Test
  void of_labelLongerThanFits_refusedNamingTheOptionItsLengthTheLimitAndTheRemedy() {
    assertThatIllegalArgumentException().isThrownBy(() -> Names.of(EU))
        .withMessageContaining("--name '" + EU + "' is 49 characters; at most 40 fit")
        .withMessageContaining("give a shorter --name");
  }

  @Test
  void defaultFor_twoLongDatabaseNamesSharingTheirBeginning_differAndFit() {
    Names eu = Names.defaultFor(EU);
    Names us = Names.defaultFor(US);

    assertThat(eu.label()).isNotEqualTo(us.label()).hasSize(40).startsWith("acme_orders_migration_to_aurora");
    assertThat(us.label()).hasSize(40);
    assertThat(Names.defaultFor(EU).label()).as("the same name, the same label").isEqualTo(eu.label());
  }

  @Test
  void defaultFor_nameThatFits_isItsNormalizedName() {
    assertThat(Names.defaultFor("Shop-EU").label()).isEqualTo("shop_eu");
    assertThat(Names.defaultFor(null).label()).isEqualTo("app");
  }
}
