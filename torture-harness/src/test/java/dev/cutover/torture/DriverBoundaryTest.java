package dev.cutover.torture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** This module's main code uses the driver only through its public packages (docs/design-decisions.md). */
class DriverBoundaryTest {
  @Test
  void mainClasses_driverInternals_notReferenced() {
    noClasses().should().dependOnClassesThat().resideInAPackage("dev.cutover.driver.internal..")
        .because("the driver's internal packages may change in any release; use dev.cutover.driver.control")
        .check(new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("dev.cutover.torture"));
  }
}
