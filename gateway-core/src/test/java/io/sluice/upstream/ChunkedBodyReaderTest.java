package io.sluice.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The chunked-body reader in front of the codec decodes exactly what the codec alone decodes —
 * heads, body bytes, trailers, failures, the end — for any way the network cuts the bytes; and it
 * passes a read's chunks on as one content.
 */
class ChunkedBodyReaderTest {
  private static final String SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
      + "Transfer-Encoding: chunked\r\n\r\n";

  private static String chunk(String data) {
    return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
  }

  private static String events(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append(chunk("data: {\"choices\":[{\"delta\":{\"content\":\"tok" + i + " é\"}}]}\n\n"));
    }
    return b.toString();
  }

  /** Wire bytes of the responses to the requests named first (GET unless HEAD is said). */
  static Map<String, String[]> cases() {
    String chunkedGet = SSE_HEAD + events(5) + "0\r\n\r\n";
    return Map.ofEntries(
        Map.entry("sse", new String[] {"GET", chunkedGet}),
        Map.entry("extensions and hex case", new String[] {"GET", SSE_HEAD
            + "1A;name=value\r\n" + "data: abcdefghijklmnopqr\n\n\r\n" + "00a ; x\r\n0123456789\r\n0\r\n\r\n"}),
        Map.entry("trailers", new String[] {"GET", SSE_HEAD + events(2) + "0\r\nX-Usage: 12\r\nX-Other: a\r\n\r\n"}),
        Map.entry("bare LF size line", new String[] {"GET", SSE_HEAD + "5\nhello\r\n0\r\n\r\n"}),
        Map.entry("bare LF after data", new String[] {"GET", SSE_HEAD + "5\r\nhello\n3\r\nabc\r\n0\r\n\r\n"}),
        Map.entry("junk after data", new String[] {"GET", SSE_HEAD + "5\r\nhelloXY\r\n3\r\nabc\r\n0\r\n\r\n"}),
        Map.entry("one chunk larger than reads", new String[] {"GET", SSE_HEAD
            + chunk("data: " + "x".repeat(300) + "\n\n") + "0\r\n\r\n"}),
        Map.entry("keep-alive: length then chunked", new String[] {"GET GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}" + chunkedGet}),
        Map.entry("keep-alive: chunked then chunked", new String[] {"GET GET", chunkedGet + chunkedGet}),
        Map.entry("interim 100 then chunked", new String[] {"GET",
            "HTTP/1.1 100 Continue\r\n\r\n" + chunkedGet}),
        Map.entry("HEAD answer then chunked", new String[] {"HEAD GET", SSE_HEAD + chunkedGet}),
        Map.entry("204 then chunked", new String[] {"GET GET", "HTTP/1.1 204 No Content\r\n\r\n" + chunkedGet}),
        Map.entry("invalid size", new String[] {"GET", SSE_HEAD + events(1) + "zz\r\nabc\r\n0\r\n\r\n"}),
        Map.entry("size overflow", new String[] {"GET", SSE_HEAD + events(1) + "FFFFFFFFF\r\nabc\r\n0\r\n\r\n"}),
        Map.entry("leading space", new String[] {"GET", SSE_HEAD + " 3\r\nabc\r\n0\r\n\r\n"}),
        Map.entry("close-delimited", new String[] {"GET", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
            + "data: a\r\n\r\ndata: b\n\n"}),
        Map.entry("closed mid-chunk", new String[] {"GET", SSE_HEAD + events(2) + "40\r\ndata: cut"}),
        Map.entry("bare LF head", new String[] {"GET", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
            + "4\r\n\r\n\r\n\r\n" + events(2) + "0\r\n\r\n"}),
        Map.entry("upgrade", new String[] {"GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n\u0081\u0002hi"}));
  }

  static List<String> caseNames() {
    return new ArrayList<>(new TreeSet<>(cases().keySet()));
  }

  @ParameterizedTest
  @MethodSource("caseNames")
  void decodesAsTheCodecDoesWhereverTheReadsAreCut(String name) {
    String[] c = cases().get(name);
    String[] methods = c[0].split(" ");
    byte[] wire = c[1].getBytes(StandardCharsets.UTF_8);
    String expected = decode(false, methods, wire, new int[0]).transcript();
    assertEquals(expected, decode(true, methods, wire, new int[0]).transcript(), "one read");
    for (int cut = 1; cut < wire.length; cut++) {
      assertEquals(expected, decode(true, methods, wire, new int[] {cut}).transcript(), "two reads cut at " + cut);
    }
    int[] everyByte = new int[wire.length - 1];
    for (int i = 0; i < everyByte.length; i++) {
      everyByte[i] = i + 1;
    }
    assertEquals(expected, decode(true, methods, wire, everyByte).transcript(), "a byte per read");
    Random random = new Random(42);
    for (int round = 0; round < 100; round++) {
      TreeSet<Integer> cuts = new TreeSet<>();
      int n = 1 + random.nextInt(Math.min(12, wire.length - 1));
      while (cuts.size() < n) {
        cuts.add(1 + random.nextInt(wire.length - 1));
      }
      int[] at = cuts.stream().mapToInt(Integer::intValue).toArray();
      assertEquals(expected, decode(true, methods, wire, at).transcript(), "cut at " + cuts);
    }
  }

  @Test
  void largeChunksCutLikeSocketReads() {
    StringBuilder body = new StringBuilder(SSE_HEAD);
    String payload = "data: " + "x".repeat(16384 - 8) + "\n\n";
    for (int i = 0; i < 40; i++) {
      body.append(chunk(payload));
    }
    body.append("0\r\n\r\n");
    byte[] wire = body.toString().getBytes(StandardCharsets.UTF_8);
    String expected = decode(false, new String[] {"GET"}, wire, new int[0]).transcript();
    Random random = new Random(7);
    for (int round = 0; round < 200; round++) {
      List<Integer> cuts = new ArrayList<>();
      int at = 0;
      while (true) {
        at += 1 + random.nextInt(round % 2 == 0 ? 65536 : 2048);
        if (at >= wire.length) {
          break;
        }
        cuts.add(at);
      }
      int[] c = cuts.stream().mapToInt(Integer::intValue).toArray();
      assertEquals(expected, decode(true, new String[] {"GET"}, wire, c).transcript(), "round " + round);
    }
  }

  @Test
  void aReadOfManyChunksIsOneContent() {
    byte[] wire = (SSE_HEAD + events(100) + "0\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    Decoded plain = decode(false, new String[] {"GET"}, wire, new int[0]);
    Decoded read = decode(true, new String[] {"GET"}, wire, new int[0]);
    assertEquals(plain.transcript(), read.transcript());
    assertEquals(100, plain.contents(), "the codec alone: a content per chunk");
    assertEquals(1, read.contents(), "with the reader: one content for the read");
  }

  @Test
  void eachReadIsOneContent() {
    byte[] head = SSE_HEAD.getBytes(StandardCharsets.UTF_8);
    byte[] body = events(3).getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[head.length + body.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    int firstEnd = head.length + chunk("data: {\"choices\":[{\"delta\":{\"content\":\"tok0 é\"}}]}\n\n")
        .getBytes(StandardCharsets.UTF_8).length;
    Decoded read = decode(true, new String[] {"GET"}, all, new int[] {head.length, firstEnd});
    assertEquals(2, read.contents(), "the second read's chunk, then the third read's two as one");
  }

  @Test
  void aReadOfOneWholeChunkComesWithItsFraming() {
    String first = chunk("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
    String second = chunk("data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n");
    String third = chunk("data: c\n\n");
    String extension = "9;x=1\r\ndata: d\n\n\r\n";
    String upper = "00A\r\ndata: ee\n\n\r\n";
    String wire = SSE_HEAD + first + second + third + extension + upper + "0\r\n\r\n";
    int a = SSE_HEAD.length();
    int b = a + first.length();
    int c = b + second.length();
    int d = c + third.length() + extension.length();
    int e = d + upper.length();
    byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
    Decoded read = decode(true, new String[] {"GET"}, bytes, new int[] {a, b, c, d, e});
    assertEquals(decode(false, new String[] {"GET"}, bytes, new int[0]).transcript(), read.transcript());
    assertEquals(4, read.contents(), "first, second, third with the extension's chunk, upper");
    assertEquals(3, read.framed(), "a read of one plain chunk (upper-case digits and leading zeros too);"
        + " not two chunks, not a size line with an extension");
    Decoded cutInside = decode(true, new String[] {"GET"}, bytes, new int[] {a, b - 1, c + 1});
    assertEquals(0, cutInside.framed(), "no read holds one whole chunk from its size line on");
  }

  private record Decoded(String transcript, int contents, int framed) {}

  private static Decoded decode(boolean withReader, String[] methods, byte[] wire, int[] cuts) {
    StringBuilder out = new StringBuilder();
    ByteBuf body = Unpooled.buffer();
    int[] contents = {0};
    int[] framedChunks = {0};
    UpstreamHandler.Listener listener = new UpstreamHandler.Listener() {
      @Override
      public void onUpstreamMessage(HttpObject msg) {
        try {
          if (msg.decoderResult().isFailure()) {
            out.append("FAILED ").append(msg.getClass().getSimpleName()).append('\n');
          }
          if (msg instanceof HttpResponse r) {
            out.append("HEAD ").append(r.status().code()).append(' ').append(r.headers().entries()).append('\n');
          }
          if (msg instanceof FramedChunk framed) {
            // Wherever the reads are cut: a framed chunk is exactly one chunk of these bytes.
            ByteBuf whole = framed.retainedChunk();
            String data = framed.content().toString(StandardCharsets.ISO_8859_1);
            String chunk = whole.toString(StandardCharsets.ISO_8859_1);
            whole.release();
            int lineEnd = chunk.indexOf("\r\n");
            if (lineEnd < 1 || !chunk.substring(0, lineEnd).matches("[0-9a-fA-F]+")
                || Integer.parseInt(chunk.substring(0, lineEnd), 16) != framed.content().readableBytes()
                || !chunk.equals(chunk.substring(0, lineEnd) + "\r\n" + data + "\r\n")) {
              out.append("BAD FRAME ").append(chunk).append('\n');
            }
            framedChunks[0]++;
          }
          if (msg instanceof HttpContent content) {
            if (content.content().isReadable()) {
              contents[0]++;
            }
            body.writeBytes(content.content(), content.content().readerIndex(), content.content().readableBytes());
          }
          if (msg instanceof LastHttpContent last) {
            out.append("BODY ").append(body.toString(StandardCharsets.ISO_8859_1)).append('\n');
            out.append("TRAILERS ").append(last.trailingHeaders().entries()).append('\n');
            body.clear();
          }
        } finally {
          ReferenceCountUtil.release(msg);
        }
      }

      @Override
      public void onUpstreamReadComplete() {}

      @Override
      public void onUpstreamWritabilityChanged(boolean writable) {}

      @Override
      public void onUpstreamClosed(Throwable cause) {
        out.append("CLOSED").append(cause == null ? "" : " " + cause.getClass().getSimpleName()).append('\n');
      }
    };
    ChunkedBodyReader reader = withReader ? new ChunkedBodyReader() : null;
    UpstreamHandler handler = new UpstreamHandler(TimeUnit.SECONDS.toNanos(60), reader);
    EmbeddedChannel ch = new EmbeddedChannel();
    if (reader != null) {
      ch.pipeline().addLast(reader);
    }
    ch.pipeline().addLast(new HttpClientCodec(new HttpDecoderConfig().setMaxChunkSize(64 * 1024), false, false));
    ch.pipeline().addLast(handler);
    handler.attach(listener);
    for (String method : methods) {
      ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), "/"));
    }
    Object written;
    while ((written = ch.readOutbound()) != null) {
      ReferenceCountUtil.release(written);
    }
    int from = 0;
    for (int i = 0; i <= cuts.length && ch.isOpen(); i++) {
      int to = i < cuts.length ? cuts[i] : wire.length;
      ch.writeInbound(Unpooled.copiedBuffer(wire, from, to - from)); // a buffer of its own, as a socket read is: the reader may move its bytes
      from = to;
    }
    ch.close();
    if (body.isReadable()) {
      out.append("UNFINISHED ").append(body.toString(StandardCharsets.ISO_8859_1)).append('\n');
    }
    body.release();
    Object left;
    while ((left = ch.readInbound()) != null) {
      ReferenceCountUtil.release(left);
    }
    return new Decoded(out.toString(), contents[0], framedChunks[0]);
  }
}
