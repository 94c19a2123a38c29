package io.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.bench.SseFramerBenchmark;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * An upstream's chunked answer decoded on its connection's pipeline, up to what the relay is
 * handed: the 104-event chat stream of {@link SseFramerBenchmark}, each event its own HTTP chunk
 * (as model servers write them), through Netty's {@code HttpClientCodec} alone ({@code
 * decoder=codec}) or with the {@link ChunkedBodyReader} in front of it ({@code decoder=reader}).
 * Each read is copied into a pooled direct buffer, as a socket read is.
 *
 * <p>{@code reads}: {@code event} = one chunk per read (a paced stream), {@code 16384} = 16 KiB
 * reads, many chunks per read (an upstream writing back to back). One operation is the whole
 * answer; divide by 104 for the cost per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class UpstreamBodyBenchmark {
  @Param({"codec", "reader"})
  public String decoder;

  @Param({"event", "16384"})
  public String reads;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private byte[][] pieces;
  private EmbeddedChannel channel;
  private long bytes;

  @Setup(Level.Trial)
  public void setUp() {
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    byte[] head = ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    List<byte[]> chunks = new ArrayList<>();
    for (byte[] event : SseFramerBenchmark.stream()) {
      ByteArrayOutputStream c = new ByteArrayOutputStream();
      c.writeBytes((Integer.toHexString(event.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      c.writeBytes(event);
      c.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      chunks.add(c.toByteArray());
    }
    chunks.add("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    List<byte[]> out = new ArrayList<>();
    out.add(head);
    if (reads.equals("event")) {
      out.addAll(chunks);
    } else {
      int size = Integer.parseInt(reads);
      for (byte[] c : chunks) {
        wire.writeBytes(c);
      }
      byte[] all = wire.toByteArray();
      for (int i = 0; i < all.length; i += size) {
        byte[] piece = new byte[Math.min(size, all.length - i)];
        System.arraycopy(all, i, piece, 0, piece.length);
        out.add(piece);
      }
    }
    pieces = out.toArray(new byte[0][]);
    ChunkedBodyReader reader = decoder.equals("reader") ? new ChunkedBodyReader() : null;
    UpstreamHandler handler = new UpstreamHandler(TimeUnit.SECONDS.toNanos(60), reader);
    channel = new EmbeddedChannel();
    if (reader != null) {
      channel.pipeline().addLast(reader);
    }
    channel.pipeline().addLast(new HttpClientCodec(new HttpDecoderConfig().setMaxInitialLineLength(8192)
        .setMaxHeaderSize(64 * 1024).setMaxChunkSize(64 * 1024), false, false));
    channel.pipeline().addLast(handler);
    handler.attach(new UpstreamHandler.Listener() {
      @Override
      public void onUpstreamMessage(HttpObject msg) {
        if (msg instanceof HttpContent content) {
          bytes += content.content().readableBytes();
          if (msg instanceof LastHttpContent) {
            bytes++;
          }
        }
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void onUpstreamReadComplete() {}

      @Override
      public void onUpstreamWritabilityChanged(boolean writable) {}

      @Override
      public void onUpstreamClosed(Throwable cause) {}
    });
  }

  @Benchmark
  public long chatStream(Blackhole bh) {
    channel.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions"));
    Object request;
    while ((request = channel.readOutbound()) != null) {
      ReferenceCountUtil.release(request);
    }
    bytes = 0;
    for (byte[] piece : pieces) {
      ByteBuf read = alloc.directBuffer(piece.length);
      read.writeBytes(piece);
      channel.pipeline().fireChannelRead(read);
      channel.pipeline().fireChannelReadComplete();
    }
    return bytes;
  }
}
