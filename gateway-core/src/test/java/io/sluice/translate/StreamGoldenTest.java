package io.sluice.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.translate.Goldens.Direction;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Streamed responses, both ways: {@code streams/NAME.in.sse} (the upstream's events, as the
 * providers' API references show them) translates to {@code NAME.out.sse}. A chat-client case
 * whose name ends in {@code -include-usage} is run as if the client asked
 * {@code stream_options.include_usage}. Every case runs twice: one read per whole stream and one
 * byte per read (the framer reassembles; the translator must not care).
 */
class StreamGoldenTest {

  static Stream<Arguments> cases() throws Exception {
    return Stream.concat(
        Goldens.cases(Direction.CHAT_CLIENT, "streams").map(n -> Arguments.of(Direction.CHAT_CLIENT, n)),
        Goldens.cases(Direction.MESSAGES_CLIENT, "streams").map(n -> Arguments.of(Direction.MESSAGES_CLIENT, n)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void translatesTheStreamEventByEvent(Direction d, String name) throws Exception {
    byte[] upstream = Goldens.read(Goldens.file(d, "streams", name + ".in.sse"));
    String expected = new String(Goldens.read(Goldens.file(d, "streams", name + ".out.sse")), StandardCharsets.UTF_8);
    TranslatedRequest request = new TranslatedRequest(new byte[0], true, name.endsWith("-include-usage"));

    String whole = Goldens.translateStream(d.translation.stream(request, UnpooledByteBufAllocator.DEFAULT),
        upstream, upstream.length);
    Goldens.assertSameEvents(whole, expected);

    String byteByByte = Goldens.translateStream(d.translation.stream(request, UnpooledByteBufAllocator.DEFAULT),
        upstream, 1);
    assertThat(byteByByte).isEqualTo(whole);
  }
}
