package dev.cutover.driver;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The driver's public packages ({@code dev.cutover.driver} and {@code dev.cutover.driver.control})
 * name no internal type in what they offer, so that users, the replicator and the other modules
 * (each checked by its own DriverBoundaryTest) can keep off the internal packages.
 */
class PublicApiTest {
  private static final String INTERNAL = "dev.cutover.driver.internal..";
  private static final JavaClasses DRIVER = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
      .importPackages("dev.cutover.driver");

  @Test
  void publicMethodsAndConstructors_internalTypesInSignature_none() {
    codeUnits().that().arePublic()
        .and().areDeclaredInClassesThat().arePublic()
        .and().areDeclaredInClassesThat().resideInAnyPackage("dev.cutover.driver", "dev.cutover.driver.control")
        .should(nameNoInternalType())
        .check(DRIVER);
  }

  @Test
  void publicFields_internalTypes_none() {
    fields().that().arePublic()
        .and().areDeclaredInClassesThat().arePublic()
        .and().areDeclaredInClassesThat().resideInAnyPackage("dev.cutover.driver", "dev.cutover.driver.control")
        .should().notHaveRawType(JavaClass.Predicates.resideInAPackage(INTERNAL))
        .check(DRIVER);
  }

  private static ArchCondition<JavaCodeUnit> nameNoInternalType() {
    return new ArchCondition<>("name no type of " + INTERNAL + " as return, parameter or thrown type") {
      @Override
      public void check(JavaCodeUnit unit, ConditionEvents events) {
        Stream.concat(Stream.concat(Stream.of(unit.getRawReturnType()), unit.getRawParameterTypes().stream()),
                unit.getThrowsClause().getTypes().stream())
            .filter(JavaClass.Predicates.resideInAPackage(INTERNAL))
            .forEach(type -> events.add(SimpleConditionEvent.violated(unit, unit.getFullName() + " names " + type.getName())));
      }
    };
  }
}
