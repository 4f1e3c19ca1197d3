package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellWordsTest {
  @Test
  void quote_bashReadsEachAsOneWordAndRunsNothing() throws Exception {
    List<String> words = List.of("public.orders", "--replica-identity-full=public.\"Orders\",\"t,1\"", "it's $(echo x) `true` ;|&",
        "", "a\\b", "~root", "*", "p'a\"s s\\@#&=%é;x");
    StringBuilder line = new StringBuilder("printf '%s\\0'");
    for (String w : words) {
      line.append(' ').append(ShellWords.quote(w));
    }
    Process p = new ProcessBuilder("bash", "-c", line.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(List.of(out.substring(0, out.length() - 1).split("\0", -1))).containsExactlyElementsOf(words);
    assertThat(ShellWords.quote("public.orders")).isEqualTo("public.orders");
  }
}
