package io.sluice.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseFramer;
import io.sluice.translate.StreamTranslator;
import io.sluice.translate.TranslatedRequest;
import io.sluice.translate.Translation;
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
 * {@link StreamTranslator} over one realistic streamed answer of 100 tokens, event by event as
 * the relay will call it (each event a framed direct buffer, every output buffer released):
 *
 * <ul>
 *   <li>{@code anthropic-to-chat}: an Anthropic Messages stream (message_start, content_block_start,
 *       ping, 100 text_delta events, content_block_stop, message_delta, message_stop) for an
 *       OpenAI Chat client that asked for include_usage;
 *   <li>{@code chat-to-anthropic}: an OpenAI Chat stream (role chunk, 100 content chunks, finish
 *       chunk, usage chunk, [DONE]) for an Anthropic Messages client.
 * </ul>
 *
 * <p>One operation is the whole stream; divide by {@link #events} for the cost per translated event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TranslationBenchmark {

  @Param({"anthropic-to-chat", "chat-to-anthropic"})
  public String direction;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private Translation translation;
  private TranslatedRequest request;
  private ByteBuf[] events;
  private int out;

  @Setup(Level.Trial)
  public void setUp() {
    boolean anthropicUpstream = direction.equals("anthropic-to-chat");
    translation = anthropicUpstream
        ? Translation.between(Api.OPENAI_CHAT, Api.ANTHROPIC_MESSAGES)
        : Translation.between(Api.ANTHROPIC_MESSAGES, Api.OPENAI_CHAT);
    request = new TranslatedRequest(new byte[0], true, true);
    List<String> stream = anthropicUpstream ? anthropicStream() : chatStream();
    events = new ByteBuf[stream.size()];
    for (int i = 0; i < events.length; i++) {
      byte[] bytes = stream.get(i).getBytes(UTF_8);
      events[i] = alloc.directBuffer(bytes.length).writeBytes(bytes);
    }
  }

  /** Events in the upstream stream: 1 per call of {@link StreamTranslator#translate}. */
  public int events() {
    return events.length;
  }

  private static String[] words() {
    return ("The river ran low that summer, and the children of the valley learned its stones by name")
        .split(" ");
  }

  public static List<String> anthropicStream() {
    List<String> s = new ArrayList<>();
    s.add("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\","
        + "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\","
        + "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
        + "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n");
    s.add("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    s.add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    String[] words = words();
    for (int i = 0; i < 100; i++) {
      String word = (i == 0 ? "" : " ") + words[i % words.length];
      s.add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
          + "\"delta\":{\"type\":\"text_delta\",\"text\":\"" + word + "\"}}\n\n");
    }
    s.add("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    s.add("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
        + "\"stop_sequence\":null},\"usage\":{\"output_tokens\":100}}\n\n");
    s.add("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    return s;
  }

  public static List<String> chatStream() {
    String head = "{\"id\":\"chatcmpl-9xQb7ZrT3kLmN2pVwY8sHc4D\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1764100000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
        + "\"choices\":[{\"index\":0,\"delta\":";
    String tail = ",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    List<String> s = new ArrayList<>();
    s.add("data: " + head + "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}" + tail + "\n\n");
    String[] words = words();
    for (int i = 0; i < 100; i++) {
      String word = (i == 0 ? "" : " ") + words[i % words.length];
      s.add("data: " + head + "{\"content\":\"" + word + "\"}" + tail + "\n\n");
    }
    s.add("data: " + head + "{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
    s.add("data: {\"id\":\"chatcmpl-9xQb7ZrT3kLmN2pVwY8sHc4D\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1764100000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":"
        + "{\"prompt_tokens\":17,\"completion_tokens\":100,\"total_tokens\":117,"
        + "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n");
    s.add("data: [DONE]\n\n");
    return s;
  }

  @Benchmark
  public int translateOneStream(Blackhole bh) {
    StreamTranslator t = translation.stream(request, alloc);
    out = 0;
    SseFramer.Sink sink = event -> {
      bh.consume(event.readableBytes());
      event.release();
      out++;
    };
    for (ByteBuf event : events) {
      t.translate(event, sink); // the caller keeps the event (the relay's usage tracker reads it too)
    }
    t.end(sink);
    return out;
  }

  @TearDown(Level.Trial)
  public void check() {
    for (ByteBuf event : events) {
      event.release();
    }
    int expected = direction.equals("anthropic-to-chat") ? 104 : 106;
    if (out != expected) {
      throw new IllegalStateException("translated into " + out + " events, expected " + expected);
    }
  }
}
