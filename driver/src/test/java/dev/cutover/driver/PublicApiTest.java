package dev.cutover.driver;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The driver's public packages ({@code dev.cutover.driver} and {@code dev.cutover.driver.control})
 * name no internal type in what they offer, so that users, the replicator and the other modules
 * (each checked by its own DriverBoundaryTest) can keep off the internal packages; and those
 * packages offer exactly the public types pinned here and listed in docs/driver.md.
 */
class PublicApiTest {
  private static final String INTERNAL = "dev.cutover.driver.internal..";
  private static final JavaClasses DRIVER = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
      .importPackages("dev.cutover.driver");

  /** Every public type users may rely on; a new one is a decision, made here and in docs/driver.md. */
  private static final Set<String> PUBLIC_TYPES = Set.of(
      "dev.cutover.driver.CutoverDataSource",
      "dev.cutover.driver.CutoverDriver",
      "dev.cutover.driver.Outcome",
      "dev.cutover.driver.Phase",
      "dev.cutover.driver.RouterListener",
      "dev.cutover.driver.RouterMXBean",
      "dev.cutover.driver.RouterObjectNames",
      "dev.cutover.driver.SwitchEvent",
      "dev.cutover.driver.SwitchEvent.Builder",
      "dev.cutover.driver.SwitchEventQueue",
      "dev.cutover.driver.SwitchListener",
      "dev.cutover.driver.control.CatchUp",
      "dev.cutover.driver.control.CatchUp.StillWanted",
      "dev.cutover.driver.control.ControlSchema",
      "dev.cutover.driver.control.OperatorControl",
      "dev.cutover.driver.control.OperatorControl.AbortOutcome",
      "dev.cutover.driver.control.OperatorControl.InstanceView",
      "dev.cutover.driver.control.OperatorControl.LeaderBackend",
      "dev.cutover.driver.control.OperatorControl.ServiceView",
      "dev.cutover.driver.control.OperatorControl.StalledLeader",
      "dev.cutover.driver.control.OperatorControl.SwitchView",
      "dev.cutover.driver.control.SameDatabase",
      "dev.cutover.driver.control.SessionIdentity",
      "dev.cutover.driver.control.SequenceMove",
      "dev.cutover.driver.control.SequenceMove.Result",
      "dev.cutover.driver.control.SwitchState");

  @Test
  void publicTypes_ofThePublicPackages_areExactlyThePinnedOnes() {
    Set<String> found = DRIVER.stream()
        .filter(c -> c.getPackageName().equals("dev.cutover.driver") || c.getPackageName().equals("dev.cutover.driver.control"))
        .filter(PublicApiTest::reachable)
        .map(c -> c.getName().replace('$', '.'))
        .collect(Collectors.toSet());
    assertThat(found).as("public types of dev.cutover.driver and dev.cutover.driver.control")
        .containsExactlyInAnyOrderElementsOf(PUBLIC_TYPES);
  }

  @Test
  void driverDocs_publicTypes_listTheSame() throws Exception {
    List<String> lines = Files.readAllLines(Path.of(System.getProperty("cutover.docs", "../docs"), "driver.md"));
    int heading = lines.indexOf("### Public types");
    assertThat(heading).as("docs/driver.md has a 'Public types' section").isNotNegative();
    List<String> listed = lines.stream().skip(heading + 1).dropWhile(l -> !l.startsWith("```")).skip(1)
        .takeWhile(l -> !l.startsWith("```")).map(String::strip).toList();
    assertThat(listed).containsExactlyInAnyOrderElementsOf(PUBLIC_TYPES);
  }

  /** Public, and so are the types it is nested in. */
  private static boolean reachable(JavaClass c) {
    for (JavaClass t = c; t != null; t = t.getEnclosingClass().orElse(null)) {
      if (!t.getModifiers().contains(JavaModifier.PUBLIC)) {
        return false;
      }
    }
    return true;
  }

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
