package dev.cutover.testkit;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/**
 * The rule every module outside the driver keeps: its main code uses the driver only through the
 * public packages ({@code dev.cutover.driver}, {@code dev.cutover.driver.control}), never
 * {@code dev.cutover.driver.internal} (docs/design-decisions.md). ArchUnit fails on an empty
 * import, so a module whose classes were not found cannot pass.
 */
public final class DriverBoundary {
  private DriverBoundary() {}

  /** Fails, naming each reference, if a main class under {@code rootPackage} uses a driver internal. */
  public static void check(String rootPackage) {
    noClasses().should().dependOnClassesThat().resideInAPackage("dev.cutover.driver.internal..")
        .because("the driver's internal packages may change in any release; use dev.cutover.driver.control")
        .check(new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(rootPackage));
  }
}
