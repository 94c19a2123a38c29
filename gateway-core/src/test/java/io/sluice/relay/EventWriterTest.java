package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.exchange.Exchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The event writer on an {@link EmbeddedChannel}: coalescing per read, gzip, the end, backpressure. */
class EventWriterTest {
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/", 0);
  private final AtomicInteger pauses = new AtomicInteger();

  @AfterEach
  void stop() {
    channel.finishAndReleaseAll();
  }

  private EventWriter writer(boolean gzip, boolean coalesce) {
    ChannelHandlerContext ctx = channel.pipeline().firstContext();
    return new EventWriter(ctx, exchange, gzip, coalesce, false, pauses::incrementAndGet);
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  /** Every chunk written so far, as text (released). */
  private List<String> chunks() {
    List<String> out = new ArrayList<>();
    for (Object msg; (msg = channel.readOutbound()) != null; ) {
      HttpContent content = (HttpContent) msg;
      out.add((content instanceof LastHttpContent ? "<end>" : "") + content.content().toString(StandardCharsets.UTF_8));
      content.release();
    }
    return out;
  }

  @Test
  void theSmallEventsOfOneReadGoOutAsOneChunkWhenTheReadIsDone() {
    EventWriter writer = writer(false, true);
    writer.write(text("data: a\n\n"));
    writer.write(text("data: b\n\n"));
    assertThat(chunks()).as("nothing before the read is done").isEmpty();
    writer.flush();
    writer.write(text("data: c\n\n"));
    writer.flush();
    assertThat(chunks()).containsExactly("data: a\n\ndata: b\n\n", "data: c\n\n");
    assertThat(exchange.bytesOut()).isEqualTo(27);
  }

  @Test
  void aLargeEventGoesAsItIsAfterWhatCameBefore() {
    EventWriter writer = writer(false, true);
    String large = "data: " + "x".repeat(EventWriter.COALESCE_BYTES) + "\n\n";
    writer.write(text("data: a\n\n"));
    writer.write(text(large));
    writer.write(text("data: b\n\n"));
    writer.flush();
    assertThat(chunks()).containsExactly("data: a\n\n", large, "data: b\n\n");
  }

  @Test
  void eventsWrittenInPlace_aSmallRunIsGatheredWithTheRead_aLargeOneGoesAsASliceOfTheBuffer() {
    EventWriter writer = writer(false, true);
    ByteBuf first = text("data: a\n\ndata: b\n\n");
    writer.writeInPlace(first, 0, 9);
    writer.writeInPlace(first, 9, 9); // follows the previous one in the same buffer: one run
    writer.endOfRead();
    first.release(); // the caller's buffer: the run was copied out of it
    ByteBuf second = text("data: c\n\n"); // the next HTTP chunk of the same socket read
    writer.writeInPlace(second, 0, second.readableBytes());
    writer.endOfRead();
    second.release();
    writer.flush();
    assertThat(chunks()).as("one chunk for the read").containsExactly("data: a\n\ndata: b\n\ndata: c\n\n");

    String large = "data: " + "x".repeat(EventWriter.COALESCE_BYTES) + "\n\n";
    ByteBuf big = text("data: d\n\n" + large);
    writer.write(text("data: own\n\n")); // the gateway's own (a ping): gathered, and goes first
    writer.writeInPlace(big, 0, big.readableBytes());
    writer.endOfRead();
    assertThat(big.refCnt()).as("the run holds the buffer: a slice, not a copy").isEqualTo(2);
    big.release();
    writer.flush();
    assertThat(chunks()).containsExactly("data: own\n\n", "data: d\n\n" + large);
    assertThat(big.refCnt()).isZero();
    assertThat(exchange.bytesOut()).isEqualTo(27 + 11 + 9 + large.length());
  }

  @Test
  void otherBodiesAreNotGathered() {
    EventWriter writer = writer(false, false);
    writer.write(text("{\"a\":"));
    writer.write(text("1}"));
    writer.flush();
    assertThat(chunks()).containsExactly("{\"a\":", "1}");
  }

  @Test
  void aGzippedBodyInflatesToWhatWasWrittenAndEndsWithItsTrailer() throws IOException {
    EventWriter writer = writer(true, true);
    writer.write(text("data: a\n\n"));
    writer.flush();
    ByteBuf first = Unpooled.buffer();
    for (Object msg; (msg = channel.readOutbound()) != null; ) {
      HttpContent content = (HttpContent) msg;
      first.writeBytes(content.content());
      content.release();
    }
    assertThat(first.readableBytes()).as("the first event is on the wire before the end").isPositive();
    writer.write(text("data: b\n\n"));
    writer.end();
    ByteBuf all = Unpooled.buffer().writeBytes(first);
    first.release();
    boolean ended = false;
    for (Object msg; (msg = channel.readOutbound()) != null; ) {
      HttpContent content = (HttpContent) msg;
      all.writeBytes(content.content());
      ended |= content instanceof LastHttpContent;
      content.release();
    }
    assertThat(ended).isTrue();
    try (GZIPInputStream in = new GZIPInputStream(new ByteBufInputStream(all, true))) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: a\n\ndata: b\n\n");
    }
  }

  @Test
  void pausesTheUpstreamWhenTheClientCannotTakeMore() {
    channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
    EventWriter writer = writer(false, false);
    writer.write(text("a chunk larger than sixteen bytes"));
    assertThat(pauses).hasValue(1);
    writer.flush();
    chunks();
  }

  @Test
  void nothingIsWrittenAfterTheClientLeft() {
    EventWriter writer = writer(true, true);
    writer.write(text("data: a\n\n"));
    writer.detach();
    ByteBuf late = text("data: b\n\n");
    writer.write(late);
    writer.flush();
    writer.end();
    assertThat(late.refCnt()).as("released, not written").isZero();
    assertThat(chunks()).isEmpty();
  }
}
