package io.sluice.sse;

import static io.sluice.testing.RandomInputs.cuts;
import static io.sluice.testing.RandomInputs.lineEnding;
import static io.sluice.testing.RandomInputs.list;
import static io.sluice.testing.RandomInputs.orNull;
import static io.sluice.testing.RandomInputs.string;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.testing.RandomInputs;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded randomized property test of the SSE framer: whatever the
 * network's split of the bytes into reads, whichever line ending each line uses (LF, CRLF, CR) and
 * wherever comment lines and comment-only blocks sit, the framer yields the same events, each
 * whole, and passes every byte on exactly once. One case per seed (see {@link RandomInputs}).
 */
class SseFramerPropertiesTest {
  private static final int CASES = 300;
  /** Printable ASCII and a few BMP letters: field values never hold CR or LF (they cannot on the wire). */
  private static final String TEXT = printableAscii() + "éü€中";
  private static final String ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  /** One generated event: what a client must see, whatever the wire layout. */
  record Ev(String event, List<String> data, String id) {
    SseEvent expected() {
      return new SseEvent(event, String.join("\n", data), id);
    }
  }

  static LongStream seeds() {
    return RandomInputs.seeds(CASES);
  }

  /** 1–12 events; a name on 40% of them, an id on 30%, 1–3 data lines of up to 40 characters. */
  private static List<Ev> events(Random random) {
    return list(random, 1, 12, r -> new Ev(
        orNull(r, 0.6, string(r, ALPHA, 1, 12)),
        list(r, 1, 3, d -> string(d, TEXT, 0, 40)),
        orNull(r, 0.7, string(r, ALPHA, 1, 12))));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void yieldsTheSameEventsWhateverTheSplitLineEndingsAndComments(long seed) {
    Random random = RandomInputs.random(seed);
    List<Ev> events = events(random);
    byte[] wire = layOut(events, random);

    SseFramer framer = new SseFramer(UnpooledByteBufAllocator.DEFAULT, 64 * 1024);
    List<byte[]> emitted = new ArrayList<>();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    SseFramer.Sink sink = new SseFramer.Sink() {
      @Override
      public void event(ByteBuf event) {
        byte[] bytes = ByteBufUtil.getBytes(event);
        event.release();
        emitted.add(bytes);
        all.writeBytes(bytes);
      }

      @Override
      public void fragment(ByteBuf part, boolean first) {
        part.release();
        throw new AssertionError("seed " + seed + ": a small event was fragmented");
      }
    };
    int from = 0;
    for (int cut : cuts(random, wire.length, 20)) {
      framer.feed(Unpooled.wrappedBuffer(wire, from, cut - from), sink);
      from = cut;
    }
    ByteBuf rest = framer.drainRemainder();
    framer.release();

    // After the last event only the LF of a CRLF whose CR already ended the event may remain.
    if (rest != null) {
      String remainder = rest.toString(StandardCharsets.US_ASCII);
      all.writeBytes(ByteBufUtil.getBytes(rest));
      rest.release();
      assertThat(remainder).as("seed %d: the remainder", seed).isEqualTo("\n");
    }
    assertThat(all.toByteArray()).as("seed %d: every byte passed on once, in order", seed).isEqualTo(wire);
    List<SseEvent> seen = new ArrayList<>();
    for (byte[] e : emitted) {
      SseEvent parsed = SseEvent.parse(Unpooled.wrappedBuffer(e));
      if (!parsed.isCommentOnly()) {
        seen.add(parsed);
      }
    }
    assertThat(seen).as("seed %d: the events of %s", seed, visible(wire))
        .containsExactlyElementsOf(events.stream().map(Ev::expected).toList());
  }

  /**
   * The wire text: each line with a random line ending, comment lines before random lines,
   * comment-only blocks between random events.
   */
  private static byte[] layOut(List<Ev> events, Random random) {
    List<String> lines = new ArrayList<>();
    for (Ev ev : events) {
      if (random.nextInt(4) == 0) {
        lines.add(": ping");
        lines.add("");
      }
      List<String> fields = new ArrayList<>();
      if (ev.event() != null) {
        fields.add("event: " + ev.event());
      }
      ev.data().forEach(d -> fields.add("data: " + d));
      if (ev.id() != null) {
        fields.add("id: " + ev.id());
      }
      for (String field : fields) {
        if (random.nextInt(5) == 0) {
          lines.add(":" + (random.nextBoolean() ? " keep-alive" : ""));
        }
        lines.add(field);
      }
      lines.add("");
    }
    StringBuilder wire = new StringBuilder();
    String previous = "";
    for (String line : lines) {
      String eol = lineEnding(random);
      // A CR then an LF is one CRLF: an empty line after a CR-ended line must not end in a bare LF.
      if (previous.equals("\r") && line.isEmpty() && eol.equals("\n")) {
        eol = "\r\n";
      }
      wire.append(line).append(eol);
      previous = eol;
    }
    return wire.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The wire with its line endings made visible, for a failure message. */
  private static String visible(byte[] wire) {
    return new String(wire, StandardCharsets.UTF_8).replace("\r", "\\r").replace("\n", "\\n");
  }

  private static String printableAscii() {
    StringBuilder s = new StringBuilder();
    for (char c = ' '; c <= '~'; c++) {
      s.append(c);
    }
    return s.toString();
  }
}
