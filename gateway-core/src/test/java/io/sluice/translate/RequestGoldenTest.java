package io.sluice.translate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.translate.Goldens.Direction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests, non-streamed responses and error bodies, both ways. {@code requests/NAME.in.json}
 * translates to {@code NAME.out.json}, or is refused naming the field in {@code NAME.refused};
 * {@code bodies/} the same for whole responses; {@code errors/NAME.in.json} holds
 * {@code {"status", "body"}} (a body that is a string is sent as that text).
 */
class RequestGoldenTest {

  static Stream<Arguments> requests() throws Exception {
    return all("requests");
  }

  static Stream<Arguments> bodies() throws Exception {
    return all("bodies");
  }

  static Stream<Arguments> errors() throws Exception {
    return all("errors");
  }

  private static Stream<Arguments> all(String kind) throws Exception {
    return Stream.concat(
        Goldens.cases(Direction.CHAT_CLIENT, kind).map(n -> Arguments.of(Direction.CHAT_CLIENT, n)),
        Goldens.cases(Direction.MESSAGES_CLIENT, kind).map(n -> Arguments.of(Direction.MESSAGES_CLIENT, n)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("requests")
  void translatesTheRequestOrRefusesTheNamedField(Direction d, String name) throws Exception {
    byte[] in = Goldens.read(Goldens.file(d, "requests", name + ".in.json"));
    Path refused = Goldens.file(d, "requests", name + ".refused");
    if (Files.exists(refused)) {
      String field = Files.readString(refused).trim();
      assertThatThrownBy(() -> d.translation.request(in, Goldens.TARGET_MODEL, Goldens.DEFAULT_MAX_TOKENS))
          .isInstanceOfSatisfying(UntranslatableFieldException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.getMessage()).contains("'" + field + "'");
          });
      return;
    }
    TranslatedRequest out = d.translation.request(in, Goldens.TARGET_MODEL, Goldens.DEFAULT_MAX_TOKENS);
    JsonNode expected = Goldens.tree(Goldens.read(Goldens.file(d, "requests", name + ".out.json")));
    assertThat(Goldens.tree(out.body())).isEqualTo(expected);
    JsonNode source = Goldens.tree(in);
    assertThat(out.streamed()).isEqualTo(source.path("stream").asBoolean(false));
    assertThat(out.clientWantsUsage())
        .isEqualTo(d == Direction.CHAT_CLIENT && source.path("stream_options").path("include_usage").asBoolean(false));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("bodies")
  void translatesTheWholeResponse(Direction d, String name) throws Exception {
    byte[] in = Goldens.read(Goldens.file(d, "bodies", name + ".in.json"));
    JsonNode expected = Goldens.tree(Goldens.read(Goldens.file(d, "bodies", name + ".out.json")));
    assertThat(Goldens.tree(d.translation.body(in))).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("errors")
  void translatesTheErrorBodyAndStatus(Direction d, String name) throws Exception {
    JsonNode in = Goldens.tree(Goldens.read(Goldens.file(d, "errors", name + ".in.json")));
    JsonNode expected = Goldens.tree(Goldens.read(Goldens.file(d, "errors", name + ".out.json")));
    JsonNode body = in.get("body");
    byte[] upstreamBody = body.isTextual() ? body.asText().getBytes(StandardCharsets.UTF_8)
        : Goldens.JSON.writeValueAsBytes(body);
    TranslatedError out = d.translation.error(in.get("status").asInt(), upstreamBody);
    assertThat(out.status()).isEqualTo(expected.get("status").asInt());
    assertThat(Goldens.tree(out.body())).isEqualTo(expected.get("body"));
  }
}
