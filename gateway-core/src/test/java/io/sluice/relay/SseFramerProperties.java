package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzing the SSE framer (LESSONS: split events): whatever the network's split of the bytes into
 * reads, whichever line ending each line uses (LF, CRLF, CR) and wherever comment lines and
 * comment-only blocks sit, the framer yields the same events, each whole, and passes every byte
 * on exactly once.
 */
class SseFramerProperties {
  private static final String[] EOLS = {"\n", "\r\n", "\r"};

  /** One generated event: what a client must see, whatever the wire layout. */
  record Ev(String event, List<String> data, String id) {
    SseEvent expected() {
      return new SseEvent(event, String.join("\n", data), id);
    }
  }

  @Provide
  Arbitrary<List<Ev>> events() {
    // Printable ASCII and a few BMP letters: field values never hold CR or LF (they cannot on the wire).
    Arbitrary<String> text = Arbitraries.strings().withCharRange(' ', '~').withChars("éü€中").ofMaxLength(40);
    Arbitrary<String> name = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(12);
    Arbitrary<Ev> event = Combinators.combine(
        name.injectNull(0.6), text.list().ofMinSize(1).ofMaxSize(3), name.injectNull(0.7)).as(Ev::new);
    return event.list().ofMinSize(1).ofMaxSize(12);
  }

  @Property(tries = 300)
  void yieldsTheSameEventsWhateverTheSplitLineEndingsAndComments(
      @ForAll("events") List<Ev> events, @ForAll Random random) {
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
      public void fragment(ByteBuf part) {
        part.release();
        throw new AssertionError("a small event was fragmented");
      }
    };
    int from = 0;
    for (int cut : cuts(wire.length, random)) {
      framer.feed(Unpooled.wrappedBuffer(wire, from, cut - from), sink);
      from = cut;
    }
    ByteBuf rest = framer.drainRemainder();
    framer.release();

    // After the last event only the LF of a CRLF whose CR already ended the event may remain.
    if (rest != null) {
      assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("\n");
      all.writeBytes(ByteBufUtil.getBytes(rest));
      rest.release();
    }
    assertThat(all.toByteArray()).as("every byte passed on once, in order").isEqualTo(wire);
    List<SseEvent> seen = new ArrayList<>();
    for (byte[] e : emitted) {
      SseEvent parsed = SseEvent.parse(Unpooled.wrappedBuffer(e));
      if (!parsed.isCommentOnly()) {
        seen.add(parsed);
      }
    }
    assertThat(seen).containsExactlyElementsOf(events.stream().map(Ev::expected).toList());
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
      String eol = EOLS[random.nextInt(EOLS.length)];
      // A CR then an LF is one CRLF: an empty line after a CR-ended line must not end in a bare LF.
      if (previous.equals("\r") && line.isEmpty() && eol.equals("\n")) {
        eol = "\r\n";
      }
      wire.append(line).append(eol);
      previous = eol;
    }
    return wire.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Up to 20 random read boundaries, ending with the length. */
  private static TreeSet<Integer> cuts(int length, Random random) {
    TreeSet<Integer> cuts = new TreeSet<>();
    int n = random.nextInt(21);
    for (int i = 0; i < n && length > 1; i++) {
      cuts.add(1 + random.nextInt(length - 1));
    }
    cuts.add(length);
    return cuts;
  }
}
