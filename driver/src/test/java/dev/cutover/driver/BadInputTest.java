package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input gets one clear SQLException that says what to do, and never shows a password. */
@LeakCheckedPair
class BadInputTest {
  private static final String SECRET = "s3cr3t-Pa55";
  private static String oldBase;
  private static String newUrl;
  private static final List<String> messages = new ArrayList<>();

  @BeforeAll
  static void setUp(PostgresPair pair) {
    oldBase = "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/postgres";
    newUrl = pair.newServer().jdbcUrl("postgres");
  }

  private static SQLException connectFails(String url) {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("password", SECRET);
    p.setProperty("cutover.new.password", SECRET);
    SQLException e = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(url, p).close());
    assertThat((Throwable) e).as("connecting to %s", url).isNotNull();
    for (Throwable t = e; t != null; t = t.getCause()) {
      messages.add(String.valueOf(t.getMessage()));
    }
    System.out.println("[bad input] " + e.getSQLState() + " " + e.getMessage());
    return e;
  }

  private static String withNew(String params) {
    return oldBase + "?password=" + SECRET + "&cutover.new.url="
        + URLEncoder.encode(newUrl + "?password=" + SECRET, StandardCharsets.UTF_8) + params;
  }

  @Test
  void connect_malformedUrl_namesTheExpectedForm() {
    SQLException e = connectFails("jdbc:cutover:postgresql://localhost:notaport/db?password=" + SECRET);
    assertThat(e.getMessage()).contains("malformed URL").contains("jdbc:cutover:postgresql://host[:port]/database");
    assertThat(e.getSQLState()).isEqualTo("22023");
  }

  @Test
  void connect_missingNewUrl_saysWhereToSetIt() {
    SQLException e = connectFails(oldBase + "?password=" + SECRET);
    assertThat(e.getMessage()).contains("cutover.new.url is required").contains("CUTOVER_NEW_URL");
  }

  @Test
  void connect_newUnreachableAtStart_servesOldAndLogsTheNewDatabase() throws Exception {
    int closedPort = Ports.closed();
    String unreachable = "jdbc:postgresql://127.0.0.1:" + closedPort + "/app?password=" + SECRET;
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    try (LogCapture logs = new LogCapture(); Connection c = DriverManager.getConnection(oldBase + "?cutover.new.url="
        + URLEncoder.encode(unreachable, StandardCharsets.UTF_8) + "&cutover.service=unreachable", p)) {
      assertThat(c.isValid(1)).isTrue();
      assertThat(logs.lines()).anySatisfy(line -> assertThat(line).contains("the new database did not answer at start")
          .contains("cannot connect to the new database").contains(":" + closedPort));
      messages.addAll(logs.lines());
    }
  }

  @Test
  void connect_oldUnreachableWhileItMustServe_namesTheOldDatabase() throws Exception {
    int closedPort = Ports.closed();
    SQLException e = connectFails("jdbc:cutover:postgresql://127.0.0.1:" + closedPort + "/app?password=" + SECRET
        + "&cutover.new.url=" + URLEncoder.encode(newUrl + "?password=" + SECRET, StandardCharsets.UTF_8)
        + "&cutover.service=old-unreachable");
    assertThat(e.getMessage()).contains("cannot connect to the old database").contains(":" + closedPort);
    assertThat(e.getSQLState()).startsWith("08");
  }

  @Test
  void connect_unknownFlagValue_namesTheKeyAndValue() {
    SQLException e = connectFails(withNew("&cutover.flag.provider=fixed&cutover.flag.value=sideways&cutover.service=sideways"));
    assertThat(e.getMessage()).contains("cutover.flag.value").contains("sideways");
    assertThat(e.getSQLState()).isEqualTo("22023");
  }

  @Test
  void connect_unknownSetting_listsTheKnownOnes() {
    SQLException e = connectFails(withNew("&cutover.drian.timeout=5s"));
    assertThat(e.getMessage()).contains("cutover.drian.timeout is not a Cutover setting").contains("cutover.drain.timeout");
  }

  @Test
  void connect_badDuration_namesKeyAndValue() {
    SQLException e = connectFails(withNew("&cutover.drain.timeout=soon"));
    assertThat(e.getMessage()).contains("cutover.drain.timeout=soon").contains("5s");
  }

  @Test
  void passwords_appearInNoMessageAndNoLogLine() throws Exception {
    try (LogCapture logs = new LogCapture()) {
      connectFails("jdbc:cutover:postgresql://localhost:notaport/db?password=" + SECRET);
      connectFails(oldBase + "?password=" + SECRET);
      connectFails(withNew("&cutover.flag.provider=fixed&cutover.flag.value=sideways&cutover.service=secrets"));
      connectFails("jdbc:cutover:postgresql://127.0.0.1:1/x?password=" + SECRET + "&cutover.new.url="
          + URLEncoder.encode(newUrl, StandardCharsets.UTF_8) + "&cutover.service=secrets-old-unreachable");
      Properties p = new Properties();
      p.setProperty("user", "postgres");
      p.setProperty("password", SECRET);
      try (Connection c = DriverManager.getConnection(oldBase + "?cutover.new.url=" + URLEncoder.encode(
          "jdbc:postgresql://127.0.0.1:1/x?password=" + SECRET, StandardCharsets.UTF_8)
          + "&cutover.service=secrets-new-unreachable", p)) {
        messages.add(c.toString());
      }
      try (Connection c = DriverManager.getConnection(withNew("&cutover.service=secrets-ok"), p)) {
        messages.add(c.toString());
        messages.add(String.valueOf(c.getMetaData().getURL()));
      }
      // A password in a user-info URL, on either side: PgJDBC quotes the "host" in its own exceptions.
      String userInfo = "//postgres:" + SECRET + "@" + oldBase.substring("jdbc:cutover:postgresql://".length());
      connectFails("jdbc:cutover:postgresql:" + userInfo + "?cutover.service=secrets-userinfo-old&cutover.new.url="
          + URLEncoder.encode(newUrl, StandardCharsets.UTF_8));
      // Only the serving side must answer at start: old serves, and what new said waits in the MBean.
      try (Connection c = DriverManager.getConnection(oldBase + "?cutover.service=secrets-userinfo-new&cutover.new.url="
          + URLEncoder.encode("jdbc:postgresql://postgres:" + SECRET + "@" + newUrl.substring("jdbc:postgresql://".length()),
              StandardCharsets.UTF_8), p)) {
        messages.addAll(List.of((String[]) RouterBean.attribute("secrets-userinfo-new", "PendingGuarantees")));
        assertThat(messages).anyMatch(m -> m.contains("the new database did not answer at start"));
      } finally {
        CutoverDriver.shutdown("secrets-userinfo-new");
      }
      CutoverDataSource ds = new CutoverDataSource();
      ds.setUrl("jdbc:cutover:postgresql:" + userInfo + "?password=" + SECRET);
      messages.add(ds.getUrl());
      messages.add(ds.toString());
      assertThat(logs.lines()).isNotEmpty().noneMatch(line -> line.contains(SECRET));
    }
    assertThat(messages).isNotEmpty().noneMatch(m -> m.contains(SECRET));
  }

  /**
   * PgJDBC reads a URL parameter up to the next {@code &}: a {@code ;} in a password is part of it
   * (and logs in), and was shown after the mask by getUrl(), toString() and getMetaData().getURL()
   * ({@code password=***;defSECRET}, r26).
   */
  @Test
  void passwordHoldingASemicolon_isMaskedWhole() throws Exception {
    String password = "abc;def" + SECRET;
    CutoverDataSource ds = new CutoverDataSource();
    ds.setUrl(oldBase + "?user=postgres&password=" + password + "&cutover.new.url=" + URLEncoder.encode(newUrl,
        StandardCharsets.UTF_8) + "&cutover.service=semicolon&cutover.flag.provider=fixed&cutover.flag.value=old");
    List<String> shown = new ArrayList<>(List.of(ds.getUrl(), ds.toString()));
    try (Connection c = ds.getConnection()) {
      shown.add(c.getMetaData().getURL());
      assertThat(shown).allSatisfy(m -> assertThat(m).contains("password=***"));
      shown.add(c.toString());
    } finally {
      ds.close();
      CutoverDriver.shutdown("semicolon");
    }
    assertThat(shown).allSatisfy(m -> assertThat(m).doesNotContain(SECRET));
  }

  @Test
  void passwordInAnEncodedNewUrl_appearsInNoUrlMessageOrLogLine() throws Exception {
    List<String> shown = new ArrayList<>();
    String inner = "jdbc:postgresql://127.0.0.1:1/x?user=postgres&password=" + SECRET;
    String encodedNew = "&cutover.new.url=" + URLEncoder.encode(newUrl + "?password=" + SECRET, StandardCharsets.UTF_8);
    try (LogCapture logs = new LogCapture()) {
      CutoverDataSource ds = new CutoverDataSource();
      ds.setUrl(oldBase + "?user=postgres&password=" + SECRET + encodedNew + "&cutover.service=encoded-new-ok");
      shown.add(ds.getUrl());
      shown.add(ds.toString());
      assertThat(ds.getUrl()).contains("cutover.new.url=jdbc%3Apostgresql%3A").contains("password%3D***");
      // The router's INFO line at start, and a connection's toString and metadata.
      try (Connection c = ds.getConnection()) {
        shown.add(c.toString());
        shown.add(c.getMetaData().getURL());
      } finally {
        ds.close();
        CutoverDriver.shutdown("encoded-new-ok");
      }
      // A malformed URL, a data source given a plain PostgreSQL URL, an unreachable side on either end.
      shown.add(connectFails("jdbc:cutover:postgresql://localhost:notaport/db?password=" + SECRET + encodedNew)
          .getMessage());
      CutoverDataSource plain = new CutoverDataSource();
      plain.setUrl("jdbc:postgresql://localhost/app?password=" + SECRET + encodedNew);
      shown.add(catchThrowableOfType(SQLException.class, plain::getConnection).getMessage());
      shown.add(connectFails("jdbc:cutover:postgresql://127.0.0.1:1/x?password=" + SECRET + encodedNew
          + "&cutover.service=encoded-old-unreachable").getMessage());
      try (Connection c = DriverManager.getConnection(oldBase + "?cutover.new.url="
          + URLEncoder.encode(inner, StandardCharsets.UTF_8) + "&cutover.service=encoded-new-unreachable", "postgres", null)) {
        shown.addAll(List.of((String[]) RouterBean.attribute("encoded-new-unreachable", "PendingGuarantees")));
      } finally {
        CutoverDriver.shutdown("encoded-new-unreachable");
      }
      assertThat(logs.lines()).anyMatch(line -> line.contains("routing"))
          .anyMatch(line -> line.contains("cannot connect to the new database"))
          .noneMatch(line -> line.contains(SECRET));
      shown.addAll(logs.lines());
    }
    assertThat(shown).anyMatch(m -> m.contains("malformed URL")).anyMatch(m -> m.contains("cannot connect to the old database"))
        .noneMatch(m -> m.contains(SECRET));
  }
}
