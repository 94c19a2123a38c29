package io.sluice.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A model server speaking one provider API — Anthropic Messages or OpenAI Chat Completions — that
 * answers every request by itself with that API's real event sequence (as the providers' API
 * references show it: Anthropic's message_start … ping … message_stop, OpenAI's role-only first
 * chunk … finish chunk, usage chunk when asked, {@code [DONE]}), streamed or not, text or tool use.
 *
 * <p><b>Paced</b> ({@link #paced}): a streamed answer sends its headers, then waits; the test sends
 * each event with {@link PacedStream#next()}, so "tokens arrive one by one" is asserted without
 * any timing.
 */
public final class ModelApiFake implements UpstreamFake {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The API a fake speaks. */
  public enum Speaks { ANTHROPIC_MESSAGES, OPENAI_CHAT }

  private final Speaks speaks;
  private final FakeUpstream http;
  private final Thread responder;
  private final BlockingQueue<JsonNode> requests = new LinkedBlockingQueue<>();
  private final BlockingQueue<PacedStream> pacedStreams = new LinkedBlockingQueue<>();
  private volatile Answer answer = Answer.text("Hello", " there", "!");
  private volatile boolean paced;
  private volatile boolean closed;

  private ModelApiFake(Speaks speaks) throws InterruptedException {
    this.speaks = speaks;
    this.http = FakeUpstream.start();
    this.responder = new Thread(this::respondUntilClosed, "model-api-fake");
    responder.setDaemon(true);
    responder.start();
  }

  /** A fake Anthropic Messages server ({@code POST /v1/messages}). */
  public static ModelApiFake anthropic() throws InterruptedException {
    return new ModelApiFake(Speaks.ANTHROPIC_MESSAGES);
  }

  /** A fake OpenAI Chat Completions server ({@code POST /v1/chat/completions}). */
  public static ModelApiFake openAi() throws InterruptedException {
    return new ModelApiFake(Speaks.OPENAI_CHAT);
  }

  /** What the following requests get. */
  public ModelApiFake answer(Answer next) {
    this.answer = next;
    return this;
  }

  /** Streamed answers wait for the test to send each event ({@link #nextPacedStream}). */
  public ModelApiFake paced(boolean on) {
    this.paced = on;
    return this;
  }

  @Override
  public String url() {
    return http.url();
  }

  public int port() {
    return http.port();
  }

  /** The next request body as this fake received it, waiting up to 10 s. */
  public JsonNode nextRequest() throws InterruptedException {
    JsonNode body = requests.poll(10, TimeUnit.SECONDS);
    if (body == null) {
      throw new AssertionError("no request reached the " + speaks + " fake within 10s");
    }
    return body;
  }

  /** The next paced streamed answer, its headers sent (waits up to 10 s). */
  public PacedStream nextPacedStream() throws InterruptedException {
    PacedStream s = pacedStreams.poll(10, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("no streamed request reached the paced " + speaks + " fake within 10s");
    }
    return s;
  }

  @Override
  public void close() {
    closed = true;
    responder.interrupt();
    try {
      responder.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    http.close();
  }

  private void respondUntilClosed() {
    while (!closed) {
      FakeUpstream.Call call;
      try {
        call = http.poll(Duration.ofMillis(200));
      } catch (InterruptedException e) {
        return;
      }
      if (call != null) {
        try {
          respond(call);
        } catch (RuntimeException | AssertionError e) {
          call.close(); // a broken answer must not leave the client waiting
        }
      }
    }
  }

  private void respond(FakeUpstream.Call call) {
    JsonNode json = readTree(call.body.getBytes(StandardCharsets.UTF_8));
    requests.add(json);
    String model = json.path("model").asText("fake-model");
    Answer a = answer;
    if (a.failStatus > 0) {
      call.respond(a.failStatus, "application/json", a.errorBody(speaks));
      return;
    }
    if (!json.path("stream").asBoolean(false)) {
      call.respond(200, "application/json", a.body(speaks, model));
      return;
    }
    boolean includeUsage = json.path("stream_options").path("include_usage").asBoolean(false);
    List<String> events = a.events(speaks, model, includeUsage);
    call.start(200, Map.of("content-type", "text/event-stream", "cache-control", "no-cache"));
    if (paced) {
      pacedStreams.add(new PacedStream(call, events));
      return;
    }
    for (String event : events) {
      call.send(event);
    }
    call.end();
  }

  private static JsonNode readTree(byte[] body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A streamed answer the test releases event by event. */
  public static final class PacedStream {
    private final FakeUpstream.Call call;
    private final List<String> events;
    private int sent;

    PacedStream(FakeUpstream.Call call, List<String> events) {
      this.call = call;
      this.events = events;
    }

    /** Sends the next event; returns it. */
    public String next() {
      if (sent == events.size()) {
        throw new AssertionError("all " + sent + " events were sent");
      }
      String event = events.get(sent++);
      call.send(event);
      return event;
    }

    /** Events not sent yet. */
    public int remaining() {
      return events.size() - sent;
    }

    /** Sends the rest and ends the response. */
    public void finish() {
      while (sent < events.size()) {
        next();
      }
      call.end();
    }
  }

  /**
   * What the model answers: text pieces (one streamed delta each), then tool calls (their
   * arguments streamed in the given fragments), how it stopped, and its usage.
   */
  public static final class Answer {
    final List<String> text;
    final List<ToolCall> tools;
    final String stop; // "end_turn" or "max_tokens"; tool calls make it tool_use
    final long inputTokens;
    final long cachedInputTokens;
    final long outputTokens;
    final int failStatus;

    private Answer(List<String> text, List<ToolCall> tools, String stop, long in, long cached, long out, int fail) {
      this.text = List.copyOf(text);
      this.tools = List.copyOf(tools);
      this.stop = stop;
      this.inputTokens = in;
      this.cachedInputTokens = cached;
      this.outputTokens = out;
      this.failStatus = fail;
    }

    /** Text in these streamed pieces; 25 input tokens, one output token per piece. */
    public static Answer text(String... pieces) {
      return new Answer(List.of(pieces), List.of(), "end_turn", 25, 0, pieces.length, 0);
    }

    /** One tool call (after optional text), its arguments streamed in these fragments. */
    public static Answer toolCall(String id, String name, String... argumentFragments) {
      return new Answer(List.of(), List.of(new ToolCall(id, name, List.of(argumentFragments))), "tool_use", 60, 0, 20, 0);
    }

    /** An error response with this status, in the fake's API's error shape. */
    public static Answer failure(int status) {
      return new Answer(List.of(), List.of(), "end_turn", 0, 0, 0, status);
    }

    /** The same answer with a second tool call. */
    public Answer andToolCall(String id, String name, String... argumentFragments) {
      List<ToolCall> more = new ArrayList<>(tools);
      more.add(new ToolCall(id, name, List.of(argumentFragments)));
      return new Answer(text, more, "tool_use", inputTokens, cachedInputTokens, outputTokens, failStatus);
    }

    /** The same answer cut off by the token limit. */
    public Answer stoppedByMaxTokens() {
      return new Answer(text, tools, "max_tokens", inputTokens, cachedInputTokens, outputTokens, failStatus);
    }

    /** The same answer with these counts; {@code cached} of the input tokens came from the prompt cache. */
    public Answer usage(long input, long cached, long output) {
      return new Answer(text, tools, stop, input, cached, output, failStatus);
    }

    String stopReason() {
      return tools.isEmpty() ? stop : "tool_use";
    }

    List<String> events(Speaks speaks, String model, boolean includeUsage) {
      return speaks == Speaks.ANTHROPIC_MESSAGES ? anthropicEvents(model) : openAiEvents(model, includeUsage);
    }

    String body(Speaks speaks, String model) {
      return speaks == Speaks.ANTHROPIC_MESSAGES ? anthropicBody(model) : openAiBody(model);
    }

    String errorBody(Speaks speaks) {
      String type = switch (failStatus) {
        case 400 -> "invalid_request_error";
        case 401 -> "authentication_error";
        case 429 -> "rate_limit_error";
        case 529 -> "overloaded_error";
        default -> "api_error";
      };
      if (speaks == Speaks.ANTHROPIC_MESSAGES) {
        return "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"fake " + type + "\"}}";
      }
      String openAiType = failStatus == 429 ? "requests" : failStatus >= 500 ? "server_error" : "invalid_request_error";
      String code = failStatus == 429 ? "\"rate_limit_exceeded\"" : "null";
      return "{\"error\":{\"message\":\"fake " + type + "\",\"type\":\"" + openAiType
          + "\",\"param\":null,\"code\":" + code + "}}";
    }

    // --- Anthropic Messages (https://docs.anthropic.com/en/api/messages-streaming) ---

    private List<String> anthropicEvents(String model) {
      List<String> events = new ArrayList<>();
      ObjectNode start = JSON.createObjectNode().put("type", "message_start");
      ObjectNode message = start.putObject("message").put("id", "msg_fake01").put("type", "message")
          .put("role", "assistant");
      message.putArray("content");
      message.put("model", model).putNull("stop_reason");
      message.putNull("stop_sequence");
      message.putObject("usage").put("input_tokens", inputTokens - cachedInputTokens)
          .put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", cachedInputTokens)
          .put("output_tokens", 1);
      events.add(sse("message_start", start));
      int index = 0;
      boolean pinged = false;
      if (!text.isEmpty()) {
        events.add(sse("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
            + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
        events.add(sse("ping", "{\"type\": \"ping\"}"));
        pinged = true;
        for (String piece : text) {
          ObjectNode delta = JSON.createObjectNode().put("type", "content_block_delta").put("index", 0);
          delta.putObject("delta").put("type", "text_delta").put("text", piece);
          events.add(sse("content_block_delta", delta));
        }
        events.add(sse("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));
        index++;
      }
      for (ToolCall call : tools) {
        ObjectNode blockStart = JSON.createObjectNode().put("type", "content_block_start").put("index", index);
        blockStart.putObject("content_block").put("type", "tool_use").put("id", call.id()).put("name", call.name())
            .putObject("input");
        events.add(sse("content_block_start", blockStart));
        if (!pinged) {
          events.add(sse("ping", "{\"type\": \"ping\"}"));
          pinged = true;
        }
        List<String> fragments = new ArrayList<>();
        fragments.add("");
        fragments.addAll(call.argumentFragments());
        for (String fragment : fragments) {
          ObjectNode delta = JSON.createObjectNode().put("type", "content_block_delta").put("index", index);
          delta.putObject("delta").put("type", "input_json_delta").put("partial_json", fragment);
          events.add(sse("content_block_delta", delta));
        }
        events.add(sse("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" + index + "}"));
        index++;
      }
      events.add(sse("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + stopReason()
          + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" + outputTokens + "}}"));
      events.add(sse("message_stop", "{\"type\":\"message_stop\"}"));
      return events;
    }

    private String anthropicBody(String model) {
      ObjectNode m = JSON.createObjectNode().put("id", "msg_fake01").put("type", "message").put("role", "assistant")
          .put("model", model);
      ArrayNode content = m.putArray("content");
      if (!text.isEmpty()) {
        content.addObject().put("type", "text").put("text", String.join("", text));
      }
      for (ToolCall call : tools) {
        content.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name())
            .set("input", readTree(String.join("", call.argumentFragments()).getBytes(StandardCharsets.UTF_8)));
      }
      m.put("stop_reason", stopReason()).putNull("stop_sequence");
      m.putObject("usage").put("input_tokens", inputTokens - cachedInputTokens)
          .put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", cachedInputTokens)
          .put("output_tokens", outputTokens);
      return m.toString();
    }

    // --- OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat-streaming) ---

    private String finishReason() {
      return switch (stopReason()) {
        case "tool_use" -> "tool_calls";
        case "max_tokens" -> "length";
        default -> "stop";
      };
    }

    private ObjectNode chunk(String model, boolean includeUsage) {
      ObjectNode c = JSON.createObjectNode().put("id", "chatcmpl-fake01").put("object", "chat.completion.chunk")
          .put("created", 1764100000L).put("model", model).put("system_fingerprint", "fp_fake");
      if (includeUsage) {
        c.putNull("usage");
      }
      return c;
    }

    private String choice(String model, boolean includeUsage, ObjectNode delta, String finish) {
      ObjectNode c = chunk(model, includeUsage);
      ObjectNode choice = JSON.createObjectNode().put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      if (finish == null) {
        choice.putNull("finish_reason");
      } else {
        choice.put("finish_reason", finish);
      }
      c.putArray("choices").add(choice);
      return sse(null, c);
    }

    private List<String> openAiEvents(String model, boolean includeUsage) {
      List<String> events = new ArrayList<>();
      ObjectNode role = JSON.createObjectNode().put("role", "assistant").put("content", "");
      role.putNull("refusal");
      events.add(choice(model, includeUsage, role, null));
      for (String piece : text) {
        events.add(choice(model, includeUsage, JSON.createObjectNode().put("content", piece), null));
      }
      for (int k = 0; k < tools.size(); k++) {
        ToolCall call = tools.get(k);
        ObjectNode first = JSON.createObjectNode();
        first.putArray("tool_calls").addObject().put("index", k).put("id", call.id()).put("type", "function")
            .putObject("function").put("name", call.name()).put("arguments", "");
        events.add(choice(model, includeUsage, first, null));
        for (String fragment : call.argumentFragments()) {
          ObjectNode delta = JSON.createObjectNode();
          delta.putArray("tool_calls").addObject().put("index", k).putObject("function").put("arguments", fragment);
          events.add(choice(model, includeUsage, delta, null));
        }
      }
      events.add(choice(model, includeUsage, JSON.createObjectNode(), finishReason()));
      if (includeUsage) {
        ObjectNode usage = chunk(model, false);
        usage.putArray("choices");
        usage.set("usage", openAiUsage());
        events.add(sse(null, usage));
      }
      events.add("data: [DONE]\n\n");
      return events;
    }

    private ObjectNode openAiUsage() {
      ObjectNode u = JSON.createObjectNode().put("prompt_tokens", inputTokens).put("completion_tokens", outputTokens)
          .put("total_tokens", inputTokens + outputTokens);
      u.putObject("prompt_tokens_details").put("cached_tokens", cachedInputTokens).put("audio_tokens", 0);
      u.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0);
      return u;
    }

    private String openAiBody(String model) {
      ObjectNode c = JSON.createObjectNode().put("id", "chatcmpl-fake01").put("object", "chat.completion")
          .put("created", 1764100000L).put("model", model);
      ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
      ObjectNode message = choice.putObject("message").put("role", "assistant");
      if (text.isEmpty()) {
        message.putNull("content");
      } else {
        message.put("content", String.join("", text));
      }
      message.putNull("refusal");
      if (!tools.isEmpty()) {
        ArrayNode calls = message.putArray("tool_calls");
        for (ToolCall call : tools) {
          calls.addObject().put("id", call.id()).put("type", "function").putObject("function")
              .put("name", call.name()).put("arguments", String.join("", call.argumentFragments()));
        }
      }
      choice.putNull("logprobs");
      choice.put("finish_reason", finishReason());
      c.set("usage", openAiUsage());
      return c.toString();
    }

    private static String sse(String event, Object data) {
      return (event == null ? "" : "event: " + event + "\n") + "data: " + data + "\n\n";
    }
  }

  /** A tool call the model makes. */
  public record ToolCall(String id, String name, List<String> argumentFragments) {}
}
