package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.sluice.exchange.Exchange;
import io.sluice.server.PipelineNames;
import io.sluice.upstream.FramedChunk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The chunk framing the event writer writes itself for HTTP/1.1 clients, behind a real HTTP/1.1
 * encoder: byte for byte what the encoder would have written, one outbound buffer per read, and the
 * encoder's own chunks (large events, the gzip trailer, the last chunk) still in order.
 */
class EventWriterFramingTest {
  private final EmbeddedChannel channel = new EmbeddedChannel();
  private final Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/", 0);

  EventWriterFramingTest() {
    channel.pipeline().addLast(PipelineNames.HTTP_CODEC, new HttpResponseEncoder());
    channel.pipeline().addLast(PipelineNames.EXCHANGE, new ChannelInboundHandlerAdapter());
  }

  @AfterEach
  void stop() {
    channel.finishAndReleaseAll();
  }

  private EventWriter writer(boolean gzip, boolean chunked) {
    ChannelHandlerContext ctx = channel.pipeline().context(PipelineNames.EXCHANGE);
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    ctx.writeAndFlush(head);
    wire(); // the head is not what these tests are about
    return new EventWriter(ctx, exchange, gzip, true, chunked, () -> { });
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  /** The outbound buffers written so far, one string each (released). */
  private List<String> wire() {
    List<String> out = new ArrayList<>();
    for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
      out.add(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    return out;
  }

  /** Everything of one body the way the encoder frames it, for comparison. */
  private String throughTheEncoder(boolean gzip, String... reads) {
    EventWriter writer = writer(gzip, false);
    return body(writer, reads);
  }

  private String body(EventWriter writer, String... reads) {
    for (String read : reads) {
      for (String event : read.split("(?<=\n\n)")) {
        writer.write(text(event));
      }
      writer.flush();
    }
    writer.end();
    return String.join("", wire());
  }

  @Test
  void oneReadGoesOutAsOneBufferWithItsChunkFraming() {
    EventWriter writer = writer(false, true);
    writer.write(text("data: a\n\n"));
    writer.write(text("data: bb\n\n"));
    writer.flush();
    assertThat(wire()).containsExactly("13\r\ndata: a\n\ndata: bb\n\n\r\n");
    writer.write(text("data: c\n\n"));
    writer.flush();
    writer.end();
    assertThat(wire()).containsExactly("9\r\ndata: c\n\n\r\n", "0\r\n\r\n");
    assertThat(exchange.bytesOut()).as("body bytes, not framing").isEqualTo(28);
  }

  @Test
  void theWireIsByteForByteWhatTheEncoderWouldHaveWritten() {
    String[] reads = {"data: a\n\n", "data: " + "y".repeat(300) + "\n\ndata: b\n\n",
        "data: " + "x".repeat(EventWriter.COALESCE_BYTES) + "\n\ndata: tail\n\n", "data: [DONE]\n\n"};
    String expected = throughTheEncoder(false, reads);
    EventWriter writer = writer(false, true);
    assertThat(body(writer, reads)).isEqualTo(expected);
  }

  @Test
  void eventsWrittenInPlaceAreFramedWithTheirRead() {
    EventWriter writer = writer(false, true);
    ByteBuf read = text("data: a\n\ndata: b\n\n");
    writer.writeInPlace(read, 0, 9);
    writer.writeInPlace(read, 9, 9);
    writer.write(text(": own\n\n"));
    writer.flush();
    read.release();
    assertThat(wire()).containsExactly("19\r\ndata: a\n\ndata: b\n\n: own\n\n\r\n");
  }

  /** An upstream read holding exactly one chunk, {@code chunk}; the chunk's data as content. */
  private static FramedChunk upstreamChunk(String chunk) {
    ByteBuf read = text(chunk);
    int dataFrom = chunk.indexOf("\r\n") + 2;
    ByteBuf data = read.retainedSlice(dataFrom, chunk.length() - 2 - dataFrom);
    FramedChunk framed = new FramedChunk(data, read, 0, chunk.length());
    read.release(); // the content keeps it, as the chunked-body reader's slice does
    return framed;
  }

  /** Relays one upstream read the way BodyRelay does: events in place, then the read's end. */
  private static void relay(EventWriter writer, FramedChunk read, int... eventLengths) {
    ByteBuf bytes = read.content();
    writer.relaying(read, bytes);
    int at = bytes.readerIndex();
    for (int length : eventLengths) {
      writer.writeInPlace(bytes, at, length);
      at += length;
    }
    writer.endOfRead();
    writer.relaying(null, null);
    read.release();
  }

  @Test
  void aReadOfOneUpstreamChunkGoesOutAsThatChunk() {
    EventWriter writer = writer(false, true);
    FramedChunk read = upstreamChunk("12\r\ndata: a\n\ndata: b\n\n\r\n");
    ByteBuf memory = read.content().unwrap();
    relay(writer, read, 9, 9);
    assertThat(memory.refCnt()).as("the chunk written is a slice of the upstream's read, no copy").isEqualTo(1);
    writer.flush();
    // Not the gateway's own digits: the upstream's size line goes with its chunk (still one chunk).
    relay(writer, upstreamChunk("009\r\ndata: c\n\n\r\n"), 9);
    writer.flush();
    writer.end();
    assertThat(wire()).containsExactly("12\r\ndata: a\n\ndata: b\n\n\r\n", "009\r\ndata: c\n\n\r\n", "0\r\n\r\n");
    assertThat(memory.refCnt()).as("released once written").isZero();
    assertThat(exchange.bytesOut()).as("body bytes, not framing").isEqualTo(27);
  }

  @Test
  void aReadNotAllRelayedAsItCameIsFramedByTheGateway() {
    EventWriter writer = writer(false, true);
    // The second event is not relayed (the usage chunk the client did not ask for).
    relay(writer, upstreamChunk("12\r\ndata: a\n\ndata: b\n\n\r\n"), 9);
    writer.flush();
    // Something the gateway wrote first in this read (a stamped event, a heartbeat) goes first.
    writer.write(text(": own\n\n"));
    relay(writer, upstreamChunk("9\r\ndata: c\n\n\r\n"), 9);
    writer.flush();
    assertThat(wire()).containsExactly("9\r\ndata: a\n\n\r\n", "10\r\n: own\n\ndata: c\n\n\r\n");
  }

  @Test
  void aGzippedStreamDoesNotPassChunksOn() {
    EventWriter writer = writer(true, true);
    relay(writer, upstreamChunk("9\r\ndata: a\n\n\r\n"), 9);
    writer.flush();
    List<String> out = wire();
    assertThat(out).hasSize(1);
    assertThat(out.get(0)).doesNotContain("data: a");
  }

  @Test
  void aGzippedStreamIsFramedPerReadAndInflatesToTheEvents() throws IOException {
    EventWriter writer = writer(true, true);
    writer.write(text("data: a\n\n"));
    writer.flush();
    List<String> first = wire();
    assertThat(first).as("the first event is on the wire before the end, as one buffer").hasSize(1);
    writer.write(text("data: b\n\n"));
    writer.flush();
    writer.end();
    String body = String.join("", first) + String.join("", wire());
    assertThat(body).endsWith("0\r\n\r\n");
    try (GZIPInputStream in = new GZIPInputStream(new ByteBufInputStream(Unpooled.copiedBuffer(dechunk(body), StandardCharsets.ISO_8859_1), true))) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: a\n\ndata: b\n\n");
    }
  }

  @Test
  void withoutAnHttp1CodecTheWriterWritesHttpContent() {
    EmbeddedChannel h2Like = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    EventWriter writer = new EventWriter(h2Like.pipeline().firstContext(), exchange, false, true, true, () -> { });
    writer.write(text("data: a\n\n"));
    writer.flush();
    Object msg = h2Like.readOutbound();
    assertThat(msg).isInstanceOf(HttpContent.class);
    ReferenceCountUtil.release(msg);
    h2Like.finishAndReleaseAll();
  }

  /** The payload of a chunked body (ISO-8859-1 text: one char per byte). */
  private static String dechunk(String body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (true) {
      int eol = body.indexOf("\r\n", at);
      int size = Integer.parseInt(body.substring(at, eol), 16);
      if (size == 0) {
        return out.toString(StandardCharsets.ISO_8859_1);
      }
      byte[] bytes = body.substring(eol + 2, eol + 2 + size).getBytes(StandardCharsets.ISO_8859_1);
      out.write(bytes, 0, bytes.length);
      assertThat(body.substring(eol + 2 + size, eol + 4 + size)).isEqualTo("\r\n");
      at = eol + 4 + size;
    }
  }
}
