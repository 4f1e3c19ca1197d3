package dev.cutover.driver.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.cutover.common.Secrets;
import dev.cutover.flags.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CutoverSettingsTest {
  private static final String NEW = "jdbc:postgresql://new-host:5432/app";

  private static SettingSources none() {
    return SettingSources.of(Map.of(), null);
  }

  @Test
  void resolve_urlWithOurParameters_stripsThemFromWhatPgJdbcSees() {
    Properties info = new Properties();
    info.setProperty("user", "app");
    info.setProperty("password", "pw");
    info.setProperty("cutover.service", "booking");
    CutoverSettings s = CutoverSettings.resolve(
        "jdbc:cutover:postgresql://old-host/app?sslmode=disable&cutover.new.url=" + NEW + "&ApplicationName=x", info, none());

    assertThat(s.oldUrl()).isEqualTo("jdbc:postgresql://old-host/app?sslmode=disable&ApplicationName=x");
    assertThat(s.oldProperties()).containsOnlyKeys("user", "password");
    assertThat(s.newUrl()).isEqualTo(NEW);
    assertThat(s.newProperties()).containsEntry("user", "app").containsEntry("password", "pw");
    assertThat(s.service()).isEqualTo("booking");
  }

  @Test
  void resolve_malformedEscapeInPasswordValue_failsNamingTheSettingButNeverTheValue() {
    Throwable e = catchThrowable(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app?cutover.new.url=" + NEW
        + "&cutover.new.password=Hunter2-pw%zz", null, none()));

    assertThat(e).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the value of URL parameter cutover.new.password in 'jdbc:cutover:postgresql://old-host/app?...'")
        .hasMessageContaining("malformed percent-escape")
        .hasMessageNotContaining("Hunter2").hasMessageNotContaining("zz")
        .hasNoCause();
  }

  @Test
  void resolve_strayPercentEndingSdkKeyValue_failsNamingTheSettingButNeverTheValue() {
    Throwable e = catchThrowable(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app?cutover.new.url=" + NEW
        + "&cutover.flag.ld.sdk-key=sdk-7f3e%", null, none()));

    assertThat(e).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the value of URL parameter cutover.flag.ld.sdk-key")
        .hasMessageNotContaining("sdk-7f3e")
        .hasNoCause();
  }

  @Test
  void resolve_malformedEscapeInParameterName_failsNamingItsPosition() {
    Throwable e = catchThrowable(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app?cutover.new.url=" + NEW
        + "&cutover.drain%g1timeout=1s", null, none()));

    assertThat(e).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the name of URL parameter 2 in 'jdbc:cutover:postgresql://old-host/app?...'")
        .hasMessageNotContaining("%g1")
        .hasNoCause();
  }

  @Test
  void resolve_everySource_urlBeatsPropertiesBeatsFileBeatsEnvironment(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("cutover.properties");
    Files.writeString(file, "cutover.new.url=" + NEW + "\ncutover.drain.timeout=3s\ncutover.barrier.timeout=4s\n");
    SettingSources sources = SettingSources.of(Map.of(
        "CUTOVER_DRAIN_TIMEOUT", "1s", "CUTOVER_BARRIER_TIMEOUT", "1s", "CUTOVER_GATE_MAX_PAUSE", "9s",
        "CUTOVER_SEQUENCE_MARGIN", "7"), file.toString());
    Properties info = new Properties();
    info.setProperty("cutover.drain.timeout", "2s");
    info.setProperty("cutover.sequence.margin", "70");

    CutoverSettings s = CutoverSettings.resolve(
        "jdbc:cutover:postgresql://old/app?cutover.sequence.margin=700", info, sources);

    assertThat(s.sequenceMargin()).as("URL beats properties").isEqualTo(700);
    assertThat(s.drainTimeout()).as("properties beat file").isEqualTo(Duration.ofSeconds(2));
    assertThat(s.barrierTimeout()).as("file beats environment").isEqualTo(Duration.ofSeconds(4));
    assertThat(s.gateMaxPause()).as("environment beats defaults").isEqualTo(Duration.ofSeconds(9));
  }

  @Test
  void resolve_newCredentials_overrideTheOldSides() {
    Properties info = new Properties();
    info.setProperty("user", "app");
    info.setProperty("password", "old-pw");
    info.setProperty("cutover.new.user", "app_new");
    info.setProperty("cutover.new.password", "new-pw");
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW, info, none());
    assertThat(s.newProperties()).containsEntry("user", "app_new").containsEntry("password", "new-pw");
    assertThat(s.toString()).doesNotContain("old-pw").doesNotContain("new-pw");
  }

  @Test
  void resolve_credentialsInTheUrl_defaultTheNewSide() {
    CutoverSettings s = CutoverSettings.resolve(
        "jdbc:cutover:postgresql://old/app?user=app&password=url-pw&cutover.new.url=" + NEW, null, none());
    assertThat(s.newProperties()).containsEntry("user", "app").containsEntry("password", "url-pw");
    assertThat(s.toString()).doesNotContain("url-pw");
  }

  @Test
  void resolve_urlCredentialsBeatProperties_asPgJdbcDoesForTheOldSide() {
    Properties info = new Properties();
    info.setProperty("user", "from-properties");
    CutoverSettings s = CutoverSettings.resolve(
        "jdbc:cutover:postgresql://old/app?user=from-url&cutover.new.url=" + NEW, info, none());
    assertThat(s.newProperties()).containsEntry("user", "from-url");
  }

  /**
   * The URL's PgJDBC parameters reach new as they reach old (a TLS requirement must not become
   * plaintext on new), and old's direct URL connects with the credentials the URL names.
   */
  @Test
  void resolve_pgJdbcParametersOfTheUrl_reachNewAndOldsDirectUrl() {
    Properties info = new Properties();
    info.setProperty("sslmode", "disable");
    info.setProperty("prepareThreshold", "0");
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://pooler/app?sslmode=require&currentSchema=s1"
        + "&options=-c%20statement_timeout%3D4321&socketTimeout=5&user=app&password=url-pw&cutover.new.url=" + NEW
        + "&cutover.old.direct-url=jdbc:postgresql://old-db:5432/app", info, none());

    assertThat(s.newProperties()).containsEntry("sslmode", "require").containsEntry("currentSchema", "s1")
        .containsEntry("options", "-c statement_timeout=4321").containsEntry("socketTimeout", "5")
        .containsEntry("prepareThreshold", "0").containsEntry("user", "app").containsEntry("password", "url-pw");
    assertThat(s.properties(Target.OLD)).containsEntry("sslmode", "require").containsEntry("user", "app")
        .containsEntry("password", "url-pw").containsEntry("socketTimeout", "5");
    assertThat(s.oldProperties()).containsOnlyKeys("sslmode", "prepareThreshold");
    assertThat(s.toString()).doesNotContain("url-pw");
  }

  @Test
  void resolve_directUrls_areReadPerSide() {
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://pooler/app?cutover.new.url=" + NEW
        + "&cutover.old.direct-url=jdbc:postgresql://old-db:5432/app", null, none());
    assertThat(s.directUrl(dev.cutover.flags.Target.OLD)).contains("jdbc:postgresql://old-db:5432/app");
    assertThat(s.directUrl(dev.cutover.flags.Target.NEW)).isEmpty();
  }

  @Test
  void resolve_malformedDirectUrl_namesTheKey() {
    assertThatThrownBy(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://pooler/app?cutover.new.url=" + NEW
        + "&cutover.new.direct-url=postgres://new-db/app?password=secret", null, none()))
        .hasMessageContaining("cutover.new.direct-url")
        .hasMessageContaining("jdbc:postgresql://host[:port]/database")
        .hasMessageNotContaining("secret");
  }

  @Test
  void resolve_customSettings_areValidatedNames() {
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW
        + "&cutover.session.custom-settings=app.tenant_id,%20App.User", null, none());
    assertThat(s.customSettings()).containsExactly("app.tenant_id", "app.user");
    assertThatThrownBy(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW
        + "&cutover.session.custom-settings=tenant", null, none()))
        .hasMessageContaining("cutover.session.custom-settings").hasMessageContaining("'tenant'");
  }

  @Test
  void resolve_bareNumberDurations_areMilliseconds() {
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW
        + "&cutover.drain.timeout=5000&cutover.barrier.timeout=1.5m&cutover.gate.max-pause=250&cutover.router.linger=1h",
        null, none());

    assertThat(s.drainTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.barrierTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(s.gateMaxPause()).isEqualTo(Duration.ofMillis(250));
    assertThat(s.routerLinger()).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void resolve_badLinger_failsAtOnceNamingTheKey() {
    assertThatThrownBy(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW
        + "&cutover.router.linger=PT30S", null, none()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.router.linger=PT30S is not a duration");
  }

  @Test
  void resolve_defaults_giveAGateLongerThanDrainAndBarrier() {
    CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW, null, none());
    assertThat(s.service()).isEqualTo("default");
    assertThat(s.gateMaxPause()).isEqualTo(s.drainTimeout().plus(s.barrierTimeout()).plusSeconds(5));
    assertThat(s.sequenceMargin()).isEqualTo(1000);
  }

  @Test
  void resolve_fileWithForeignKey_isRejected(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("c.properties");
    Files.writeString(file, "spring.datasource.url=x\n");
    assertThatThrownBy(() -> SettingSources.of(Map.of(), file.toString()))
        .hasMessageContaining("spring.datasource.url");
  }

  @Test
  void resolve_missingConfigFile_namesIt() {
    assertThatThrownBy(() -> SettingSources.of(Map.of("CUTOVER_CONFIG", "/nonexistent/cutover.properties"), null))
        .hasMessageContaining("/nonexistent/cutover.properties");
  }

  @Test
  void maskUrl_hidesEveryPasswordForm() {
    assertThat(Secrets.maskUrl("jdbc:postgresql://h/db?user=u&password=p1&sslpassword=p2"))
        .isEqualTo("jdbc:postgresql://h/db?user=u&password=***&sslpassword=***");
    assertThat(Secrets.maskUrl("postgresql://u:p3@h/db")).isEqualTo("postgresql://u:***@h/db");
  }

  @Test
  void resolve_replicatorsVariablesInTheEnvironment_areNeverTakenAndNeverMentioned() {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(SettingSources.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try {
      SettingSources env = SettingSources.of(Map.of(
          "CUTOVER_REPLICATOR_NEW_URL", "jdbc:postgresql://admin-host/app",
          "CUTOVER_REPLICATOR_NEW_USER", "admin", "CUTOVER_REPLICATOR_NEW_PASSWORD", "admin-secret",
          "CUTOVER_REPLICATOR_OLD_USER", "admin", "CUTOVER_REPLICATOR_OLD_PASSWORD", "admin-secret"), null);
      Properties info = new Properties();
      info.setProperty("user", "app");
      CutoverSettings s = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app?cutover.new.url=" + NEW, info, env);

      assertThat(s.newProperties()).containsEntry("user", "app").doesNotContainKey("password");
      assertThat(s.oldProperties()).containsEntry("user", "app").doesNotContainKey("password");
      assertThat(s.values()).doesNotContainValue("admin").doesNotContainValue("admin-secret");
      assertThat(lines.list).noneMatch(e -> e.getFormattedMessage().contains("CUTOVER_REPLICATOR"));
    } finally {
      log.detachAppender(lines);
    }
  }

  @Test
  void secrets_inAUserInfoUrl_areMaskedInMessagesAndInACopiedCauseChain() {
    String url = "jdbc:postgresql://bob:pa%24%24word-9@db-host:5432/app";
    Properties p = new Properties();
    p.setProperty("password", "prop-secret-1");
    java.util.Set<String> secrets = Secrets.of(url + "?sslpassword=ssl-secret-2", p);
    assertThat(secrets).contains("prop-secret-1", "pa%24%24word-9", "pa$$word-9", "ssl-secret-2");

    java.sql.SQLException pgjdbc = new java.sql.SQLException("The connection attempt failed.", "08001",
        new java.net.UnknownHostException("bob:pa$$word-9@db-host"));
    Throwable scrubbed = Secrets.scrub(pgjdbc, secrets);
    assertThat(((java.sql.SQLException) scrubbed).getSQLState()).isEqualTo("08001");
    assertThat(scrubbed.getCause().getMessage()).isEqualTo("java.net.UnknownHostException: bob:***@db-host");
    assertThat(scrubbed.getCause().getStackTrace()).isEqualTo(pgjdbc.getCause().getStackTrace());
    java.sql.SQLException harmless = new java.sql.SQLException("Connection refused", "08001");
    assertThat(Secrets.scrub(harmless, secrets)).isSameAs(harmless);
  }

  @Test
  void resolve_serviceAndInstanceWithBlanksAround_areTrimmedAndShareTheRouter(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("cutover.properties");
    Files.writeString(file, "cutover.service=booking \ncutover.instance=\tweb-1 \n");
    Properties info = new Properties();
    info.setProperty("cutover.new.url", NEW);
    CutoverSettings fromFile = CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app", info,
        SettingSources.of(Map.of(), file.toString()));
    CutoverSettings fromUrl = CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app?cutover.service=+booking%20"
        + "&cutover.instance=web-1", info, none());

    assertThat(fromFile.service()).isEqualTo("booking");
    assertThat(fromFile.instance()).contains("web-1");
    assertThat(fromFile.values()).containsEntry("cutover.service", "booking").containsEntry("cutover.instance", "web-1");
    assertThat(fromFile).isEqualTo(fromUrl);
  }

  @Test
  void resolve_blankOrControlCharacterInServiceOrInstance_isRefusedNamingTheSetting() {
    for (String[] bad : new String[][] {
        {"cutover.service", " "}, {"cutover.service", ""}, {"cutover.service", "boo\nking"},
        {"cutover.service", "boo\u0000king"}, {"cutover.instance", "\t"}, {"cutover.instance", "web\r1"}}) {
      Properties info = new Properties();
      info.setProperty("cutover.new.url", NEW);
      info.setProperty(bad[0], bad[1]);

      Throwable e = catchThrowable(() -> CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app", info, none()));

      assertThat(e).as("%s=%s", bad[0], bad[1]).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(bad[0]).hasMessageContaining(bad[1].isBlank() ? "blank" : "control character");
    }
  }

  private static CutoverSettings as(String user, String password, String newPassword, String urlPassword) {
    Properties info = new Properties();
    info.setProperty("user", user);
    info.setProperty("password", password);
    if (newPassword != null) {
      info.setProperty("cutover.new.password", newPassword);
    }
    return CutoverSettings.resolve("jdbc:cutover:postgresql://old-host/app?cutover.new.url="
        + java.net.URLEncoder.encode(NEW + "?password=" + urlPassword, java.nio.charset.StandardCharsets.UTF_8), info, none());
  }

  /**
   * A rotated password (the pool's, cutover.new.password, one in new's URL) is the same router
   * (r21: a second router per password stalled every switch); another user is another router; the
   * key shows no secret.
   */
  @Test
  void routerKey_passwordsRotated_sameRouter_otherUser_otherRouter_noSecretShown() {
    CutoverSettings first = as("app", "first-secret", "new-first", "url-first");
    CutoverSettings rotated = as("app", "second-secret", "new-second", "url-second");

    assertThat(rotated).isNotEqualTo(first);
    assertThat(rotated.routerKey()).isEqualTo(first.routerKey()).hasSameHashCodeAs(first.routerKey());
    assertThat(as("reporting", "first-secret", "new-first", "url-first").routerKey()).isNotEqualTo(first.routerKey());
    assertThat(first.routerKey().toString() + first).doesNotContain("first-secret").doesNotContain("new-first")
        .doesNotContain("url-first");
  }
}
