package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.bench.SseFramerBenchmark;
import io.sluice.config.RouteConfig.Api;
import io.sluice.exchange.Exchange;
import io.sluice.observe.GatewayMetrics;
import io.sluice.sse.SseFramer;
import io.sluice.usage.UsageTracker;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The whole per-event path of an {@code openai-chat} route up to the client write, over the
 * 104-event chat stream of {@link SseFramerBenchmark}: framing ({@link SseFramer}, each read copied
 * into a pooled direct buffer as a socket read is), what the relay learns of each event (content,
 * the usage chunk to drop, usage and model) and the token timings into the real meters
 * ({@link TokenTimings} on a {@link GatewayMetrics}), the events that pass unchanged joined into one
 * slice per read as {@code EventWriter} joins them, then the usage at the end. In the package of
 * {@code TokenTimings} (package-private) on purpose; the write to the client is not included.
 *
 * <p>{@code reads}: {@code event} = one event per read (a paced stream), {@code 16384} = 16 KiB
 * reads, many events per read and events cut across reads (an upstream writing back to back).
 * One operation is the whole stream; divide by 104 for the cost per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EventPathBenchmark {
  @Param({"event", "16384"})
  public String reads;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private final GatewayMetrics metrics = new GatewayMetrics("bench");
  private byte[][] pieces;
  private int events;
  private int content;
  private int dropped;

  @Setup(Level.Trial)
  public void setUp() {
    pieces = SseFramerBenchmark.reads(reads);
  }

  @Benchmark
  public Object chatStream(Blackhole bh) {
    Exchange exchange = new Exchange("req", "127.0.0.1", "POST", "/v1/chat/completions", System.nanoTime());
    exchange.routeName("openai-chat");
    TokenTimings timings = new TokenTimings(exchange, metrics, System::nanoTime);
    UsageTracker usage = new UsageTracker(Api.OPENAI_CHAT, true, true, "gpt-4o-mini", () -> 17);
    SseFramer framer = new SseFramer(alloc, 256 * 1024);
    events = 0;
    content = 0;
    dropped = 0;
    // As the relay takes them: in place, the events that pass unchanged joined into one slice per read.
    SseFramer.Sink sink = new SseFramer.Sink() {
      private ByteBuf run;
      private int from;
      private int to;

      @Override
      public void event(ByteBuf event) {
        throw new AssertionError("the relay reads events in place");
      }

      @Override
      public void event(ByteBuf buffer, int index, int length) {
        relay(buffer, index, length, usage.onEvent(buffer, index, length));
      }

      @Override
      public void event(ByteBuf buffer, int index, int length, byte[] bytes, int offset) {
        relay(buffer, index, length, usage.onEvent(bytes, offset, length)); // as the relay reads it
      }

      private void relay(ByteBuf buffer, int index, int length, UsageTracker.Verdict verdict) {
        events++;
        if (verdict == UsageTracker.Verdict.DROP) {
          dropped++;
          flushRun();
          return;
        }
        if (verdict == UsageTracker.Verdict.CONTENT) {
          content++;
          timings.contentEvent(usage.model());
        }
        if (run == buffer && to == index) {
          to += length;
        } else {
          flushRun();
          run = buffer;
          from = index;
          to = index + length;
        }
      }

      @Override
      public void endOfRead() {
        timings.endOfRead(); // the read's events go out together: their gaps recorded once
        flushRun();
      }

      private void flushRun() {
        if (run != null) {
          ByteBuf slice = run.retainedSlice(from, to - from);
          bh.consume(slice.readableBytes());
          slice.release();
          run = null;
        }
      }
    };
    for (byte[] piece : pieces) {
      ByteBuf buf = alloc.directBuffer(piece.length);
      buf.writeBytes(piece);
      framer.feed(buf, sink);
    }
    framer.release();
    return usage.usage();
  }

  @TearDown(Level.Trial)
  public void check() {
    if (events != SseFramerBenchmark.EVENTS || content != 100 || dropped != 1) {
      throw new IllegalStateException("events " + events + ", content " + content + ", dropped " + dropped);
    }
  }
}
