package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class QuotingTest {
  @Test
  void identifier_nameWithQuotesAndCase_isDoubleQuotedWithQuotesDoubled() {
    assertThat(Quoting.identifier("Order \"Lines\"")).isEqualTo("\"Order \"\"Lines\"\"\"");
    assertThat(Quoting.identifier("select")).isEqualTo("\"select\"");
  }

  @Test
  void literal_quoteDoubled_backslashKept() {
    assertThat(Quoting.literal("it's a\\b")).isEqualTo("'it''s a\\b'");
  }

  @Test
  void conninfoValue_quotesAndBackslashes_areEscaped() {
    assertThat(Quoting.conninfoValue("p'a\\ss word")).isEqualTo("'p\\'a\\\\ss word'");
  }

  @Test
  void nulCharacter_isRefusedWithoutEchoingTheValue() {
    for (Runnable quote : new Runnable[] {() -> Quoting.identifier("hunter2\0"), () -> Quoting.literal("hunter2\0"),
        () -> Quoting.conninfoValue("hunter2\0")}) {
      assertThatThrownBy(quote::run).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NUL")
          .hasMessageNotContaining("hunter2");
    }
  }

  @Test
  void shellWord_plainWordAsWritten_elseSingleQuoted() {
    assertThat(Quoting.shellWord("app_user-1")).isEqualTo("app_user-1");
    assertThat(Quoting.shellWord("o'brien")).isEqualTo("'o'\\''brien'");
    assertThat(Quoting.shellWord("a b $HOME `id`")).isEqualTo("'a b $HOME `id`'");
    assertThat(Quoting.shellWord("")).isEqualTo("''");
  }

  @Test
  void shellWord_bashReadsEachAsOneWordAndRunsNothing() throws Exception {
    java.util.List<String> words = java.util.List.of("public.orders", "--replica-identity-full=public.\"Orders\",\"t,1\"",
        "it's $(echo x) `true` ;|&", "", "a\\b", "~root", "*", "p'a\"s s\\@#&=%\u00e9;x");
    StringBuilder line = new StringBuilder("printf '%s\\0'");
    for (String w : words) {
      line.append(' ').append(Quoting.shellWord(w));
    }
    Process p = new ProcessBuilder("bash", "-c", line.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(java.util.List.of(out.substring(0, out.length() - 1).split("\0", -1))).containsExactlyElementsOf(words);
  }
}
