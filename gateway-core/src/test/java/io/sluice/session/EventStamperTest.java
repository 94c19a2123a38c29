package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EventStamperTest {
  private static final String STREAM = "0123456789abcdef0123456789abcdef";
  private static final String ID = "id: " + STREAM + ".5\n";

  /** Events as the framer emits them, and what the client must get for each. */
  static Stream<Arguments> events() {
    return Stream.of(
        Arguments.of("data: a\n\n", ID + "data: a\n\n"),
        Arguments.of("event: delta\r\nid: 7\r\ndata: a\r\nidle: x\r\n\r\n",
            ID + "event: delta\r\ndata: a\r\nidle: x\r\n\r\n"),
        Arguments.of("data: b\nid\n\n", ID + "data: b\n\n"),
        Arguments.of("id: 1\rdata: c\rid\r\r", ID + "data: c\r\r"),
        Arguments.of("i\nid\nidx\nid:\ndata: id: 9\ni: d\n\n", ID + "i\nidx\ndata: id: 9\ni: d\n\n"),
        // The LF of a CRLF whose CR ended the previous event (the framer emitted it at the CR).
        Arguments.of("\ndata: d\r\n\r\n", "\n" + ID + "data: d\r\n\r\n"),
        Arguments.of("\nid: up\r\ndata: e\r\n\r", "\n" + ID + "data: e\r\n\r"),
        Arguments.of(": comment\nid: 2\n\n", ID + ": comment\n\n"));
  }

  @ParameterizedTest
  @MethodSource("events")
  void stampsAWholeEvent(String event, String expected) {
    assertThat(text(SessionEvents.stamp(buf(event), STREAM, 5))).isEqualTo(expected);
  }

  @ParameterizedTest
  @MethodSource("events")
  void stampsTheSameBytesWhereverTheEventIsSplitIntoFragments(String event, String expected) {
    byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
    for (int split = 0; split <= bytes.length; split++) {
      EventStamper stamper = new EventStamper(STREAM, 5);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(stamper.stamp(Unpooled.wrappedBuffer(bytes, 0, split)));
      out.writeBytes(stamper.stamp(Unpooled.wrappedBuffer(bytes, split, bytes.length - split)));
      out.writeBytes(stamper.end());
      assertThat(out.toString(StandardCharsets.UTF_8)).as("split after byte %d", split).isEqualTo(expected);
    }
    EventStamper stamper = new EventStamper(STREAM, 5);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte b : bytes) {
      out.writeBytes(stamper.stamp(Unpooled.wrappedBuffer(new byte[] {b})));
    }
    out.writeBytes(stamper.end());
    assertThat(out.toString(StandardCharsets.UTF_8)).as("byte by byte").isEqualTo(expected);
  }

  @Test
  void holdsAtMostTheTwoBytesOfAnIdAtTheEndOfAFragment() {
    EventStamper stamper = new EventStamper(STREAM, 5);
    assertThat(text(stamper.stamp(buf("data: x\ni")))).isEqualTo(ID + "data: x\n");
    assertThat(text(stamper.stamp(buf("d")))).isEmpty();
    assertThat(text(stamper.stamp(buf("le: y\nid")))).isEqualTo("idle: y\n");
    assertThat(text(stamper.stamp(buf(": 3\ndata: z\n\n")))).isEqualTo("data: z\n\n");
    assertThat(stamper.end()).isEmpty();
  }

  @Test
  void doesNotConsumeTheEvent() {
    ByteBuf event = buf("data: a\n\n");
    SessionEvents.stamp(event, STREAM, 1);
    assertThat(event.readableBytes()).isEqualTo(9);
    assertThat(event.release()).isTrue();
  }

  /** A wrapped heap array: nothing to release. */
  private static ByteBuf buf(String text) {
    return Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8));
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
