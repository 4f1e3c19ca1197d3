package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SecretsTest {
  private static final String INNER = "jdbc:postgresql://127.0.0.1:56132/app?user=app2&password=NewPw-S3cret";

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Test
  void maskUrl_plainPasswordForms_areMasked() {
    assertThat(Secrets.maskUrl("jdbc:postgresql://h/db?user=u&password=p1&sslpassword=p2"))
        .isEqualTo("jdbc:postgresql://h/db?user=u&password=***&sslpassword=***");
    assertThat(Secrets.maskUrl("postgresql://u:p3@h/db")).isEqualTo("postgresql://u:***@h/db");
    assertThat(Secrets.maskUrl("postgres://:p4@h/db")).isEqualTo("postgres://:***@h/db");
  }

  @Test
  void maskUrl_encodedInnerUrlWithPassword_masksItAndKeepsTheRestReadable() {
    String url = "jdbc:cutover:postgresql://127.0.0.1:56131/app?user=app&password=OldPw-S3cret&cutover.service=sec1"
        + "&cutover.new.url=" + enc(INNER) + "&cutover.drain.timeout=5s";

    String masked = Secrets.maskUrl(url);

    assertThat(masked).doesNotContain("S3cret").isEqualTo(
        "jdbc:cutover:postgresql://127.0.0.1:56131/app?user=app&password=***&cutover.service=sec1"
            + "&cutover.new.url=" + enc("jdbc:postgresql://127.0.0.1:56132/app?user=app2&password=***")
            + "&cutover.drain.timeout=5s");
  }

  @Test
  void maskUrl_encodedInnerUrlWithoutSecret_isLeftAsWritten() {
    String url = "jdbc:cutover:postgresql://h/app?cutover.new.url=jdbc:postgresql:%2F%2Fh2%2Fapp%3Fuser%3Dx";
    assertThat(Secrets.maskUrl(url)).isEqualTo(url);
  }

  @Test
  void maskUrl_otherEncodings_areMaskedToo() {
    for (String url : new String[] {
        // sslpassword and user info inside the encoded URL
        "jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc("jdbc:postgresql://h2/app?sslpassword=NewPw-S3cret"),
        "jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc("postgresql://app:NewPw-S3cret@h2/app"),
        // encoded twice, in a direct URL, semicolon-separated, a percent-encoded parameter name
        "jdbc:cutover:postgresql://h/app?cutover.new.direct-url=" + enc(enc(INNER)),
        "jdbc:cutover:postgresql://h/app;cutover.new.url=" + enc(INNER),
        "jdbc:cutover:postgresql://h/app?pass%77ord=NewPw-S3cret",
        // a password with characters the encoder escapes, lower-case escapes, a broken escape
        "jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc(INNER + "%&x").toLowerCase(),
        "jdbc:cutover:postgresql://h/app?cutover.new.url=jdbc%3Apostgresql%3A%2F%2Fh2%2Fapp%3Fpassword%3DNewPw-S3cret%zz",
        // inside free text, as messages quote it
        "cutover: cannot connect to 'jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc(INNER) + "' (refused)"}) {
      assertThat(Secrets.maskUrl(url)).as(url).doesNotContainIgnoringCase("S3cret").contains("***");
    }
  }

  @Test
  void maskUrl_inFreeText_keepsTheTextBeforeTheSecret() {
    String text = "cutover: cannot connect to 'jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc(INNER)
        + "' (refused)";
    // A password's value runs to the next separator: what follows it in free text goes with it.
    assertThat(Secrets.maskUrl(text)).isEqualTo("cutover: cannot connect to 'jdbc:cutover:postgresql://h/app?"
        + "cutover.new.url=" + enc("jdbc:postgresql://127.0.0.1:56132/app?user=app2&password=***"));
  }

  @Test
  void of_encodedInnerUrl_findsTheInnerPassword() {
    String url = "jdbc:cutover:postgresql://h/app?cutover.new.url=" + enc(INNER.replace("NewPw-S3cret", "a%2Fb"));
    assertThat(Secrets.of(url, new Properties())).contains("a%2Fb", "a/b");
  }

  /**
   * PgJDBC splits a URL's parameters on {@code &} alone (after the first {@code ?}): a {@code ;}, a
   * {@code ?} or a {@code #} in a value belongs to it, a password too. The value was masked up to
   * the first {@code ;} only, and what followed was shown (r26).
   */
  @Test
  void maskUrl_passwordHoldingSemicolonQuestionMarkOrHash_isMaskedUpToTheNextAmpersand() {
    assertThat(Secrets.maskUrl("jdbc:postgresql://h/kl?user=semi&password=abc;defSECRET&sslmode=require"))
        .isEqualTo("jdbc:postgresql://h/kl?user=semi&password=***&sslmode=require");
    assertThat(Secrets.maskUrl("jdbc:postgresql://h/kl?user=semi&password=abc;defSECRET"))
        .isEqualTo("jdbc:postgresql://h/kl?user=semi&password=***");
    assertThat(Secrets.maskUrl("jdbc:postgresql://h/kl?password=a?b#c;dSECRET&user=semi"))
        .isEqualTo("jdbc:postgresql://h/kl?password=***&user=semi");
    // an unencoded URL as another parameter's value, and an encoded one
    assertThat(Secrets.maskUrl("jdbc:cutover:postgresql://h/kl?user=admin&cutover.new.url=jdbc:postgresql://h2/kl?password=x;ySECRET"))
        .isEqualTo("jdbc:cutover:postgresql://h/kl?user=admin&cutover.new.url=jdbc:postgresql://h2/kl?password=***");
    assertThat(Secrets.maskUrl("jdbc:cutover:postgresql://h/kl?cutover.new.url="
        + enc("jdbc:postgresql://h2/kl?password=x;ySECRET&user=u"))).doesNotContain("SECRET").contains("password%3D***%26user");
    assertThat(Secrets.of("jdbc:postgresql://h/kl?password=abc;defSECRET&user=semi", new Properties()))
        .containsExactly("abc;defSECRET");
  }
}
