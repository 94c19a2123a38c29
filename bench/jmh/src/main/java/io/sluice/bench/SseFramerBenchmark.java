package io.sluice.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.sse.SseFramer;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link SseFramer} over one realistic streamed chat completion: the role chunk, 100 content
 * chunks (OpenAI's chunk JSON, one word each), the finish chunk, a usage chunk and {@code [DONE]},
 * about 20 KiB in all. The stream reaches the framer the way the network delivers it:
 *
 * <ul>
 *   <li>{@code event}: one read per event (a paced stream: each token arrives on its own);
 *   <li>{@code 4096} / {@code 16384}: fixed-size reads, so events come several to a read and are
 *       cut across reads (an unpaced stream, or a proxy that fell behind);
 *   <li>{@code 7}: tiny reads, the worst case for the carry-over of partial events.
 * </ul>
 *
 * <p>One operation is the whole stream; divide by {@link #EVENTS} for the cost per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SseFramerBenchmark {

  /** Events in the stream: role + 100 tokens + finish + usage + [DONE]. */
  public static final int EVENTS = 104;

  @Param({"event", "4096", "16384", "7"})
  public String reads;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private byte[][] pieces;
  private int events;

  @Setup(Level.Trial)
  public void setUp() {
    pieces = reads(reads);
  }

  /**
   * The stream as the network hands it over: {@code "event"} = one event per read, else reads of
   * that many bytes (events cut across reads).
   */
  public static byte[][] reads(String reads) {
    List<byte[]> eventBytes = stream();
    List<byte[]> out = new ArrayList<>();
    if (reads.equals("event")) {
      out.addAll(eventBytes);
    } else {
      int size = Integer.parseInt(reads);
      int total = eventBytes.stream().mapToInt(b -> b.length).sum();
      byte[] all = new byte[total];
      int at = 0;
      for (byte[] b : eventBytes) {
        System.arraycopy(b, 0, all, at, b.length);
        at += b.length;
      }
      for (int i = 0; i < total; i += size) {
        byte[] piece = new byte[Math.min(size, total - i)];
        System.arraycopy(all, i, piece, 0, piece.length);
        out.add(piece);
      }
    }
    return out.toArray(new byte[0][]);
  }

  public static List<byte[]> stream() {
    String head = "{\"id\":\"chatcmpl-9xQb7ZrT3kLmN2pVwY8sHc4D\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1764100000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
        + "\"choices\":[{\"index\":0,\"delta\":";
    String tail = ",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    String[] words = ("The river ran low that summer, and the children of the valley learned its"
        + " stones by name").split(" ");
    List<byte[]> events = new ArrayList<>();
    events.add(("data: " + head + "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}" + tail + "\n\n")
        .getBytes(UTF_8));
    for (int i = 0; i < 100; i++) {
      String word = (i == 0 ? "" : " ") + words[i % words.length];
      events.add(("data: " + head + "{\"content\":\"" + word + "\"}" + tail + "\n\n").getBytes(UTF_8));
    }
    events.add(("data: " + head + "{}" + ",\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
        .getBytes(UTF_8));
    events.add(("data: {\"id\":\"chatcmpl-9xQb7ZrT3kLmN2pVwY8sHc4D\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1764100000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":"
        + "{\"prompt_tokens\":17,\"completion_tokens\":100,\"total_tokens\":117}}\n\n").getBytes(UTF_8));
    events.add("data: [DONE]\n\n".getBytes(UTF_8));
    return events;
  }

  @Benchmark
  public int frameOneStream(Blackhole bh) {
    SseFramer framer = new SseFramer(alloc, 64 * 1024);
    events = 0;
    SseFramer.Sink sink = event -> {
      bh.consume(event.readableBytes());
      event.release();
      events++;
    };
    for (byte[] piece : pieces) {
      ByteBuf buf = alloc.directBuffer(piece.length);
      buf.writeBytes(piece);
      framer.feed(buf, sink);
    }
    framer.release();
    return events;
  }

  /**
   * The framing alone, events taken in place as the relay takes them (no buffer per event): what
   * the scan for blank lines costs, which the slice per event of {@link #frameOneStream} hides.
   */
  @Benchmark
  public int frameInPlace(Blackhole bh) {
    SseFramer framer = new SseFramer(alloc, 64 * 1024);
    events = 0;
    SseFramer.Sink sink = new SseFramer.Sink() {
      @Override
      public void event(ByteBuf event) {
        throw new AssertionError("the relay reads events in place");
      }

      @Override
      public void event(ByteBuf buffer, int index, int length) {
        bh.consume(length);
        events++;
      }
    };
    for (byte[] piece : pieces) {
      ByteBuf buf = alloc.directBuffer(piece.length);
      buf.writeBytes(piece);
      framer.feed(buf, sink);
    }
    framer.release();
    return events;
  }

  @TearDown(Level.Trial)
  public void check() {
    if (events != EVENTS) {
      throw new IllegalStateException("framed " + events + " events, expected " + EVENTS);
    }
  }
}
