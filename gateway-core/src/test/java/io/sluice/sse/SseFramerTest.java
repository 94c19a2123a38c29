package io.sluice.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SseFramerTest {
  private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
  private static final int LARGE = 64 * 1024;

  /** A realistic chat-completion stream with {@code \n} line endings, as lines of one event each. */
  private static final List<String> EVENTS_LF = List.of(
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
          + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
      ": ping\n: still thinking\n\n",
      "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo 👋\"}}]}\n\n",
      "event: x\ndata: first line\ndata:second line\ndata\nid: 42\n\n",
      "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
      "data: [DONE]\n\n");

  private static final List<SseEvent> PARSED = List.of(
      new SseEvent(null, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
          + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}", null),
      new SseEvent(null, null, null),
      new SseEvent(null, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo 👋\"}}]}", null),
      new SseEvent("x", "first line\nsecond line\n", "42"),
      new SseEvent(null, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}", null),
      new SseEvent(null, "[DONE]", null));

  /** Ends with an empty line, whatever the line endings ({@code \r\n\r} when split inside the last CRLF). */
  private static final Pattern ENDS_WITH_BLANK_LINE = Pattern.compile("(\r\n|\n|\r)(\r\n|\n|\r)$");

  static Stream<Arguments> lineEndings() {
    return Stream.of(Arguments.of("LF", "\n"), Arguments.of("CRLF", "\r\n"), Arguments.of("CR", "\r"));
  }

  private static byte[] stream(String eol) {
    return String.join("", EVENTS_LF).replace("\n", eol).getBytes(StandardCharsets.UTF_8);
  }

  /** Collects what the framer emits as byte arrays, releasing every buffer it receives. */
  private static class Collector implements SseFramer.Sink {
    final List<byte[]> events = new ArrayList<>();
    final List<byte[]> fragments = new ArrayList<>();
    /** The bytes of each oversized event, from its first fragment on. */
    final List<ByteArrayOutputStream> oversized = new ArrayList<>();
    final ByteArrayOutputStream all = new ByteArrayOutputStream();

    @Override
    public void event(ByteBuf event) {
      try {
        byte[] bytes = ByteBufUtil.getBytes(event);
        events.add(bytes);
        all.writeBytes(bytes);
      } finally {
        event.release();
      }
    }

    @Override
    public void fragment(ByteBuf part, boolean first) {
      try {
        byte[] bytes = ByteBufUtil.getBytes(part);
        fragments.add(bytes);
        all.writeBytes(bytes);
        if (first) {
          oversized.add(new ByteArrayOutputStream());
        }
        oversized.get(oversized.size() - 1).writeBytes(bytes);
      } finally {
        part.release();
      }
    }

    void drain(SseFramer framer) {
      ByteBuf rest = framer.drainRemainder();
      if (rest != null) {
        try {
          all.writeBytes(ByteBufUtil.getBytes(rest));
        } finally {
          rest.release();
        }
      }
    }
  }

  private static ByteBuf buf(byte[] bytes, int from, int to) {
    ByteBuf b = ALLOC.buffer(to - from);
    b.writeBytes(bytes, from, to - from);
    return b;
  }

  private static void assertWholeEvents(Collector out, byte[] input) {
    assertThat(out.all.toByteArray()).isEqualTo(input);
    assertThat(out.fragments).isEmpty();
    assertThat(out.events).hasSize(PARSED.size());
    List<SseEvent> parsed = new ArrayList<>();
    for (byte[] e : out.events) {
      String text = new String(e, StandardCharsets.UTF_8);
      assertThat(ENDS_WITH_BLANK_LINE.matcher(text).find()).as("ends with a blank line: %s", text).isTrue();
      parsed.add(SseEvent.parse(Unpooled.wrappedBuffer(e)));
    }
    assertThat(parsed).containsExactlyElementsOf(PARSED);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lineEndings")
  void emitsEachEventOnceWhateverTheSplitIntoTwoReads(String name, String eol) {
    byte[] input = stream(eol);
    for (int split = 0; split <= input.length; split++) {
      SseFramer framer = new SseFramer(ALLOC, LARGE);
      Collector out = new Collector();
      framer.feed(buf(input, 0, split), out);
      framer.feed(buf(input, split, input.length), out);
      out.drain(framer);
      framer.release();
      assertWholeEvents(out, input);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lineEndings")
  void emitsEachEventOnceWhenFedByteByByte(String name, String eol) {
    byte[] input = stream(eol);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    for (int i = 0; i < input.length; i++) {
      framer.feed(buf(input, i, i + 1), out);
    }
    out.drain(framer);
    framer.release();
    assertWholeEvents(out, input);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lineEndings")
  void emitsEachEventWithItsExactBytesWhenReadAtOnce(String name, String eol) {
    byte[] input = stream(eol);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    framer.feed(buf(input, 0, input.length), out);
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
    List<String> expected = EVENTS_LF.stream().map(e -> e.replace("\n", eol)).toList();
    assertThat(out.events).extracting(e -> new String(e, StandardCharsets.UTF_8))
        .containsExactlyElementsOf(expected);
  }

  @Test
  void crlfSplitBetweenReadsStillEndsTheEvent() {
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    byte[] input = "data: a\r\n\r\ndata: b\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    framer.feed(buf(input, 0, 8), out); // "data: a\r"
    assertThat(out.events).isEmpty();
    framer.feed(buf(input, 8, 10), out); // "\n\r"
    assertThat(out.events).extracting(String::new).containsExactly("data: a\r\n\r");
    framer.feed(buf(input, 10, input.length), out); // "\ndata: b\r\n\r\n"
    assertThat(out.events).extracting(String::new).containsExactly("data: a\r\n\r", "\ndata: b\r\n\r\n");
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
    assertThat(out.events).extracting(e -> SseEvent.parse(Unpooled.wrappedBuffer(e)).data())
        .containsExactly("a", "b");
  }

  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

  private static byte[] withBom(byte[] stream) {
    byte[] out = new byte[BOM.length + stream.length];
    System.arraycopy(BOM, 0, out, 0, BOM.length);
    System.arraycopy(stream, 0, out, BOM.length, stream.length);
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lineEndings")
  void dropsAByteOrderMarkAtTheStartOfTheStreamWhateverTheSplit(String name, String eol) {
    byte[] stream = stream(eol);
    byte[] input = withBom(stream);
    for (int split = 0; split <= input.length; split++) {
      SseFramer framer = new SseFramer(ALLOC, LARGE);
      Collector out = new Collector();
      framer.feed(buf(input, 0, split), out);
      framer.feed(buf(input, split, input.length), out);
      out.drain(framer);
      framer.release();
      assertWholeEvents(out, stream);
    }
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    for (int i = 0; i < input.length; i++) {
      framer.feed(buf(input, i, i + 1), out);
    }
    out.drain(framer);
    framer.release();
    assertWholeEvents(out, stream);
  }

  @Test
  void keepsWhatOnlyLooksLikeTheStartOfAByteOrderMarkAndABomAfterTheStart() {
    byte[] euro = "€: a comment\n\ndata: x\n\n".getBytes(StandardCharsets.UTF_8); // € is E2 82 AC
    byte[] almost = {(byte) 0xEF, (byte) 0xBB, 'x', '\n', '\n'};
    for (byte[] input : List.of(euro, almost)) {
      SseFramer framer = new SseFramer(ALLOC, LARGE);
      Collector out = new Collector();
      framer.feed(buf(input, 0, 1), out);
      framer.feed(buf(input, 1, input.length), out);
      out.drain(framer);
      framer.release();
      assertThat(out.all.toByteArray()).isEqualTo(input);
    }
    byte[] first = "data: a\n\n".getBytes(StandardCharsets.US_ASCII);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    framer.feed(buf(first, 0, first.length), out);
    framer.feed(buf(BOM, 0, BOM.length), out); // only the stream's first bytes are a BOM to skip
    out.drain(framer);
    framer.release();
    assertThat(out.all.toByteArray()).isEqualTo(concat(first, BOM));
  }

  @Test
  void passesOnTheStartOfAByteOrderMarkWhenTheStreamEndsThere() {
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    framer.feed(buf(BOM, 0, 2), out);
    assertThat(out.events).isEmpty();
    assertThat(framer.pendingBytes()).isEqualTo(2);
    out.drain(framer);
    framer.release();
    assertThat(out.all.toByteArray()).containsExactly(0xEF, 0xBB);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void returnsTheUnterminatedLastEventFromDrainRemainder() {
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    byte[] input = "data: one\n\nevent: usage\ndata: {\"total\":3}".getBytes(StandardCharsets.US_ASCII);
    framer.feed(buf(input, 0, input.length), out);
    assertThat(out.events).extracting(String::new).containsExactly("data: one\n\n");
    assertThat(framer.pendingBytes()).isEqualTo("event: usage\ndata: {\"total\":3}".length());

    ByteBuf rest = framer.drainRemainder();
    try {
      assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("event: usage\ndata: {\"total\":3}");
      assertThat(SseEvent.parse(rest)).isEqualTo(new SseEvent("usage", "{\"total\":3}", null));
      assertThat(rest.readableBytes()).as("parse does not consume").isEqualTo(30);
    } finally {
      rest.release();
    }
    assertThat(framer.pendingBytes()).isZero();
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
  }

  @Test
  void passesAnOversizedEventOnInFragmentsWithBoundedMemory() {
    int max = 64;
    String big = "data: " + "x".repeat(1000) + "\n\n";
    byte[] input = (big + "data: small\n\n" + big + "data: [DONE]\n\n").getBytes(StandardCharsets.US_ASCII);
    SseFramer framer = new SseFramer(ALLOC, max);
    Collector out = new Collector();
    int chunk = 10;
    for (int i = 0; i < input.length; i += chunk) {
      framer.feed(buf(input, i, Math.min(input.length, i + chunk)), out);
      assertThat(framer.pendingBytes()).isLessThan(max);
    }
    out.drain(framer);
    framer.release();

    assertThat(out.all.toByteArray()).isEqualTo(input);
    assertThat(out.events).extracting(String::new).containsExactly("data: small\n\n", "data: [DONE]\n\n");
    ByteArrayOutputStream fragments = new ByteArrayOutputStream();
    out.fragments.forEach(fragments::writeBytes);
    assertThat(fragments.toString(StandardCharsets.US_ASCII)).isEqualTo(big + big);
    assertThat(out.fragments).allSatisfy(f -> assertThat(f.length).isLessThan(max + chunk));
    assertThat(out.oversized).extracting(e -> e.toString(StandardCharsets.US_ASCII)).containsExactly(big, big);
  }

  @Test
  void marksTheFirstFragmentOfEachOversizedEventAlsoRightBehindAnother() {
    int max = 64;
    String a = "data: " + "a".repeat(200) + "\r\n\r\n";
    String b = "data: " + "b".repeat(200) + "\r\n\r\n";
    byte[] input = (a + b + "data: c\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    for (int chunk : new int[] {1, 7, 100, 1000}) {
      SseFramer framer = new SseFramer(ALLOC, max);
      Collector out = new Collector();
      for (int i = 0; i < input.length; i += chunk) {
        framer.feed(buf(input, i, Math.min(input.length, i + chunk)), out);
      }
      out.drain(framer);
      framer.release();
      assertThat(out.all.toByteArray()).isEqualTo(input);
      // Read at once, the events are whole; in small reads the large ones come in fragments
      // (compared without LFs: the LF of a CRLF split from its CR goes with the next event).
      if (chunk < max) {
        assertThat(out.oversized).as("reads of %d", chunk).extracting(e -> e.toString(StandardCharsets.US_ASCII)
            .replace("\n", "")).containsExactly(a.replace("\n", ""), b.replace("\n", ""));
      }
    }
  }

  @Test
  void passesAnOversizedEventOnInFragmentsWhenFedByteByByte() {
    int max = 16;
    byte[] input = ("data: " + "y".repeat(100) + "\r\n\r\ndata: ok\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    SseFramer framer = new SseFramer(ALLOC, max);
    Collector out = new Collector();
    for (int i = 0; i < input.length; i++) {
      framer.feed(buf(input, i, i + 1), out);
      assertThat(framer.pendingBytes()).isLessThan(max);
    }
    out.drain(framer);
    framer.release();
    assertThat(out.all.toByteArray()).isEqualTo(input);
    // Fed byte by byte, each event is emitted at the CR of its blank line; the LF starts the next one.
    assertThat(out.events).extracting(String::new).containsExactly("\ndata: ok\r\n\r");
    assertThat(SseEvent.parse(Unpooled.wrappedBuffer(out.events.get(0)))).isEqualTo(new SseEvent(null, "ok", null));
  }

  @Test
  void holdsNoReferenceToTheInputOnceEverythingWasEmittedAndReleased() {
    ByteBuf in = Unpooled.copiedBuffer("data: a\n\ndata: b\n\n", StandardCharsets.US_ASCII);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    framer.feed(in, new Collector());
    assertThat(in.refCnt()).isZero();
    assertThat(framer.pendingBytes()).isZero();
    framer.release();
  }

  @Test
  void releaseFreesThePendingBytes() {
    ByteBuf first = Unpooled.copiedBuffer("data: a\n\ndata: par", StandardCharsets.US_ASCII);
    ByteBuf second = Unpooled.copiedBuffer("tial event", StandardCharsets.US_ASCII);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    framer.feed(first, out);
    framer.feed(second, out);
    assertThat(framer.pendingBytes()).isEqualTo("data: partial event".length());
    framer.release();
    assertThat(first.refCnt()).isZero();
    assertThat(second.refCnt()).isZero();
    assertThat(framer.pendingBytes()).isZero();
  }

  @Test
  void releasesAnEmptyRead() {
    ByteBuf empty = Unpooled.buffer(8);
    SseFramer framer = new SseFramer(ALLOC, LARGE);
    Collector out = new Collector();
    framer.feed(empty, out);
    assertThat(empty.refCnt()).isZero();
    assertThat(out.events).isEmpty();
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
  }
  /**
   * Reads that each end inside an event, handed over in growable buffers (as the upstream reader
   * joins a read's chunks): what the framer holds stays bounded by one event and one read, however
   * long the stream. Appending to the held buffer whenever it could grow kept every byte already
   * relayed in it (a 1 GiB stream ran out of direct memory at 32 MiB).
   */
  @Test
  void whatIsHeldStaysBoundedOverALongStreamOfReadsThatEndInsideEvents() {
    SseFramer framer = new SseFramer(PooledByteBufAllocator.DEFAULT, 256 * 1024);
    byte[] event = ("data: " + "x".repeat(1000) + "\n\n").getBytes(StandardCharsets.US_ASCII);
    int[] events = {0};
    SseFramer.Sink sink = new SseFramer.Sink() {
      @Override
      public void event(ByteBuf e) {
        events[0]++;
        e.release();
      }
    };
    int at = 0;
    int maxCapacity = 0;
    for (int read = 0; read < 4000; read++) {
      int size = 1500; // one and a half events: every read ends inside one
      byte[] bytes = new byte[size];
      for (int i = 0; i < size; i++) {
        bytes[i] = event[at];
        at = (at + 1) % event.length;
      }
      ByteBuf in = PooledByteBufAllocator.DEFAULT.directBuffer(size * 2).writeBytes(bytes);
      framer.feed(in, sink);
      maxCapacity = Math.max(maxCapacity, framer.heldCapacity());
    }
    framer.release();
    assertThat(events[0]).isEqualTo(4000 * 1500 / event.length);
    assertThat(maxCapacity).as("held buffer capacity over 6 MB of stream").isLessThan(16 * 1024);
  }

  /**
   * A read that ends inside an event, handed over as a slice of a 64 KiB read buffer (the upstream
   * reader passes a read's body bytes as a slice of the read): waiting for the event's end keeps
   * the event's start, not the whole read buffer.
   */
  @Test
  void anUnfinishedEventInASliceOfALargeReadIsCopiedOut_notTheReadKept() {
    SseFramer framer = new SseFramer(PooledByteBufAllocator.DEFAULT, 256 * 1024);
    List<String> events = new ArrayList<>();
    SseFramer.Sink sink = new SseFramer.Sink() {
      @Override
      public void event(ByteBuf e) {
        events.add(e.toString(StandardCharsets.US_ASCII));
        e.release();
      }
    };
    ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(64 * 1024);
    read.writeBytes("xxxxdata: one\n\ndata: tw".getBytes(StandardCharsets.US_ASCII));
    framer.feed(read.retainedSlice(4, read.writerIndex() - 4), sink);
    read.release();
    assertThat(framer.heldCapacity()).as("held after the read").isLessThan(4096);
    assertThat(read.refCnt()).as("the read buffer went back").isZero();
    framer.feed(Unpooled.copiedBuffer("o\n\n", StandardCharsets.US_ASCII), sink);
    assertThat(events).containsExactly("data: one\n\n", "data: two\n\n");
    framer.release();
  }

  /** The eight-bytes-at-a-time search finds the same first LF or CR as a byte-by-byte one, from every offset to every end. */
  @Test
  void findsTheFirstLineEndAsAByteByByteSearchWould() {
    Random random = new Random(15);
    byte[] alphabet = {'\n', '\r', 'a', ':', ' ', (byte) 0x8a, (byte) 0x8d, (byte) 0xff, 0x0b, 0x0c, 0x09, 0x0e};
    for (int round = 0; round < 200; round++) {
      byte[] a = new byte[1 + random.nextInt(40)];
      for (int k = 0; k < a.length; k++) {
        // mostly ordinary bytes, so that matches fall in every position of a word
        a[k] = random.nextInt(6) == 0 ? alphabet[random.nextInt(alphabet.length)] : (byte) ('a' + random.nextInt(26));
      }
      for (int from = 0; from <= a.length; from++) {
        for (int to = from; to <= a.length; to++) {
          int expected = -1;
          for (int k = from; k < to; k++) {
            if (a[k] == '\n' || a[k] == '\r') {
              expected = k;
              break;
            }
          }
          assertThat(SseFramer.nextLineEnd(a, from, to)).as("a[%d, %d) of %s", from, to, Arrays.toString(a))
              .isEqualTo(expected);
        }
      }
    }
  }

  /**
   * A read longer than the scan's window ({@link SseFramer#WINDOW}, copied a window at a time from a
   * direct buffer) with events and CRLFs across the windows' edges, and heap buffers (scanned in
   * their own array, also at an array offset): the same events as a byte-by-byte reading.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("lineEndings")
  void framesAReadLongerThanTheScanWindowAsByteByByte(String name, String eol) {
    StringBuilder text = new StringBuilder();
    Random random = new Random(eol.hashCode());
    while (text.length() < 3 * SseFramer.WINDOW + 500) {
      int n = random.nextInt(300);
      text.append(random.nextInt(5) == 0 ? ": comment" : "data: ").append("x".repeat(n)).append(eol);
      if (random.nextBoolean()) {
        text.append(eol); // the event's end; otherwise another line of the same event
      }
    }
    text.append(eol);
    byte[] input = text.toString().getBytes(StandardCharsets.US_ASCII);
    List<byte[]> expected = eventsByteByByte(input);
    assertThat(expected).hasSizeGreaterThan(50);

    byte[] padded = new byte[input.length + 7];
    System.arraycopy(input, 0, padded, 3, input.length);
    List<ByteBuf> reads = List.of(
        ALLOC.directBuffer(input.length).writeBytes(input),
        Unpooled.wrappedBuffer(input),
        Unpooled.wrappedBuffer(padded, 3, input.length), // an array offset, bytes around it
        Unpooled.wrappedBuffer(padded).slice(3, input.length));
    for (ByteBuf read : reads) {
      SseFramer framer = new SseFramer(ALLOC, 1024 * 1024);
      int[] inArray = {0};
      Collector out = new Collector() {
        @Override
        public void event(ByteBuf buffer, int index, int length, byte[] bytes, int offset) {
          // the array the framer hands over holds the event's bytes, as the buffer does
          assertThat(Arrays.copyOfRange(bytes, offset, offset + length))
              .isEqualTo(ByteBufUtil.getBytes(buffer, index, length));
          inArray[0]++;
          super.event(buffer, index, length, bytes, offset);
        }
      };
      framer.feed(read, out);
      out.drain(framer);
      framer.release();
      assertThat(out.events).as("%s", read.getClass().getSimpleName()).containsExactlyElementsOf(expected);
      assertThat(out.all.toByteArray()).isEqualTo(input);
      assertThat(inArray[0]).as("events handed over with an array").isGreaterThan(expected.size() - 5);
    }
  }

  /**
   * The events of a whole stream read one byte at a time, the way WHATWG words it (a line ends at
   * CRLF, LF or CR; an empty line ends the event, with a CRLF's LF when it follows): the reference
   * for the framer's word-at-a-time scan. Every event in {@code input} is complete.
   */
  private static List<byte[]> eventsByteByByte(byte[] input) {
    List<byte[]> events = new ArrayList<>();
    int start = 0;
    boolean atLineStart = true;
    for (int i = 0; i < input.length; i++) {
      byte b = input[i];
      if (b != '\n' && b != '\r') {
        atLineStart = false;
        continue;
      }
      if (b == '\n' && i > 0 && input[i - 1] == '\r') {
        continue; // the LF of a CRLF: no second line end
      }
      if (!atLineStart) {
        atLineStart = true;
        continue;
      }
      int end = b == '\r' && i + 1 < input.length && input[i + 1] == '\n' ? i + 2 : i + 1;
      events.add(Arrays.copyOfRange(input, start, end));
      start = end;
      i = end - 1;
    }
    return events;
  }
}
