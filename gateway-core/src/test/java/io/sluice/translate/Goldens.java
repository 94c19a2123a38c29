package io.sluice.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFramer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The golden files under {@code src/test/resources/translate} and how a case is run and compared. */
final class Goldens {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1764100000), ZoneOffset.UTC);
  static final String TARGET_MODEL = "target-model";
  static final int DEFAULT_MAX_TOKENS = 1024;

  private Goldens() {}

  /** The two directions: the folder and the translation for its clients. */
  enum Direction {
    CHAT_CLIENT("chat-client", Api.OPENAI_CHAT, Api.ANTHROPIC_MESSAGES),
    MESSAGES_CLIENT("messages-client", Api.ANTHROPIC_MESSAGES, Api.OPENAI_CHAT);

    final String folder;
    final Translation translation;

    Direction(String folder, Api client, Api upstream) {
      this.folder = folder;
      this.translation = Translation.between(client, upstream, CLOCK);
    }
  }

  static Path root() {
    try {
      return Path.of(Goldens.class.getResource("/translate").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The case names ({@code NAME.in.*}) of one kind ("requests", "streams", ...) in one direction. */
  static Stream<String> cases(Direction d, String kind) throws IOException {
    Path dir = root().resolve(d.folder).resolve(kind);
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.contains(".in."))
          .map(n -> n.substring(0, n.indexOf(".in."))).sorted().toList().stream();
    }
  }

  static Path file(Direction d, String kind, String name) {
    return root().resolve(d.folder).resolve(kind).resolve(name);
  }

  static byte[] read(Path p) throws IOException {
    return Files.readAllBytes(p);
  }

  /**
   * Runs an upstream stream through the framer and the translator, {@code readSize} bytes per
   * read (the framer puts whole events back together), and returns the client's wire text.
   */
  static String translateStream(StreamTranslator t, byte[] upstream, int readSize) {
    StringBuilder out = new StringBuilder();
    SseFramer.Sink sink = event -> {
      out.append(event.toString(StandardCharsets.UTF_8));
      event.release();
    };
    SseFramer framer = new SseFramer(UnpooledByteBufAllocator.DEFAULT, 64 * 1024);
    for (int i = 0; i < upstream.length; i += readSize) {
      ByteBuf piece = Unpooled.copiedBuffer(upstream, i, Math.min(readSize, upstream.length - i));
      framer.feed(piece, event -> {
        try {
          t.translate(event, sink);
        } finally {
          event.release();
        }
      });
    }
    framer.release();
    t.end(sink);
    return out.toString();
  }

  /** The events of an SSE text, each as (event name, data). */
  static List<SseEvent> events(String text) {
    List<SseEvent> events = new ArrayList<>();
    SseFramer framer = new SseFramer(UnpooledByteBufAllocator.DEFAULT, 64 * 1024);
    framer.feed(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), event -> {
      events.add(SseEvent.parse(event));
      event.release();
    });
    framer.release();
    return events;
  }

  /** Asserts two SSE texts hold the same events: names exact, data as JSON trees (else exact). */
  static void assertSameEvents(String actual, String expected) throws IOException {
    List<SseEvent> a = events(actual);
    List<SseEvent> e = events(expected);
    assertThat(a).as("events of\n%s", actual).hasSameSizeAs(e);
    for (int i = 0; i < e.size(); i++) {
      assertThat(a.get(i).event()).as("event %d's name in\n%s", i, actual).isEqualTo(e.get(i).event());
      assertThat(data(a.get(i).data())).as("event %d's data in\n%s", i, actual).isEqualTo(data(e.get(i).data()));
    }
  }

  private static Object data(String data) throws IOException {
    if (data.startsWith("{")) {
      return JSON.readTree(data);
    }
    return data;
  }

  static JsonNode tree(byte[] json) throws IOException {
    return JSON.readTree(json);
  }
}
