package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import io.sluice.usage.UsageTracker;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Usage extraction on the same streamed chat completion as {@link SseFramerBenchmark} (104
 * events): what the relay does per event on an {@code openai-chat} route —
 * {@link UsageTracker#onEvent(ByteBuf)} on the event's bytes (the content flag, the model, the usage
 * chunk) — and, once at the end, the usage with its token estimate. {@code parseOnly}: what
 * {@link SseEvent#parse} alone costs (the relay calls it only for resumable sessions). One operation is the
 * whole stream; divide by 104 for the cost per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class UsageTrackerBenchmark {
  private ByteBuf[] events;

  @Setup(Level.Trial)
  public void setUp() {
    List<byte[]> stream = SseFramerBenchmark.stream();
    events = new ByteBuf[stream.size()];
    for (int i = 0; i < events.length; i++) {
      events[i] = Unpooled.unreleasableBuffer(Unpooled.directBuffer(stream.get(i).length).writeBytes(stream.get(i)));
    }
  }

  @Benchmark
  public Object trackOneStream(Blackhole bh) {
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, true, true, "gpt-4o-mini", () -> 17);
    for (ByteBuf event : events) {
      bh.consume(tracker.onEvent(event));
    }
    return tracker.usage();
  }

  @Benchmark
  public int parseOnly(Blackhole bh) {
    int n = 0;
    for (ByteBuf event : events) {
      bh.consume(SseEvent.parse(event));
      n++;
    }
    return n;
  }
}
