package io.sluice.translate;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.sse.SseFramer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;

/**
 * An Anthropic Messages stream (upstream) as OpenAI {@code chat.completion.chunk}s (client).
 *
 * <pre>
 * message_start                    → role-only first chunk {"role":"assistant","content":"","refusal":null}
 * content_block_start text         → (nothing; a non-empty start text → a content chunk)
 * content_block_start tool_use     → tool_calls[{index: k, id, type: function, function: {name, arguments: ""}}]
 * content_block_delta text_delta   → {"content": text}
 * content_block_delta input_json_delta → tool_calls[{index: k, function: {arguments: partial_json}}]
 * thinking / signature deltas      → (nothing: Chat Completions has no field for them)
 * content_block_stop, ping         → (nothing)
 * message_delta                    → finish chunk {"delta":{}, "finish_reason": mapped stop_reason}
 * message_stop                     → usage chunk (only with include_usage), then data: [DONE]
 * error                            → event: error, data {"error":{"message","type","code"}}; stream ends
 * </pre>
 *
 * <p>{@code k} counts tool_use blocks from 0, so the OpenAI index is stable for every fragment of
 * one call whatever Anthropic block index carries it. The usage chunk follows the finish chunk and
 * precedes {@code [DONE]}, as OpenAI sends it.
 */
final class AnthropicToChatStream implements StreamTranslator {
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ERROR = SseBlocks.eventLine("error");

  private final ByteBufAllocator alloc;
  private final Clock clock;
  private final boolean includeUsage;
  private final SseBlocks io = new SseBlocks();
  private final AnthropicEvent e = new AnthropicEvent();
  private final UsageCounts usage = new UsageCounts();

  private String id = "chatcmpl-sluice";
  private String model = "";
  private long created;
  private boolean started;
  private boolean finished;
  /** Anthropic block index → OpenAI tool call index, -1 for a block that is not a tool call. */
  private int[] toolIndex = new int[8];
  private int tools;
  /** Pre-encoded around a content or argument fragment once the stream's id and model are known. */
  private byte[] contentBefore;
  private byte[] contentAfter;
  private byte[] argumentsBefore;
  private byte[] argumentsAfter;
  private static final byte[] ARGUMENTS_MIDDLE = SseBlocks.bytes(",\"function\":{\"arguments\":");

  AnthropicToChatStream(ByteBufAllocator alloc, Clock clock, boolean includeUsage) {
    this.alloc = alloc;
    this.clock = clock;
    this.includeUsage = includeUsage;
    Arrays.fill(toolIndex, -1);
  }

  @Override
  public boolean finished() {
    return finished;
  }

  @Override
  public void translate(ByteBuf event, SseFramer.Sink out) {
    if (finished || !io.readData(event)) {
      return; // after the end nothing more is owed; comments carry nothing to translate
    }
    try (JsonParser p = io.parser()) {
      e.parse(p);
    } catch (IOException ex) {
      fail(out, "server_error", "malformed_event", "the upstream sent a malformed stream event");
      return;
    }
    if (e.type == null) {
      return;
    }
    switch (e.type) {
      case "message_start" -> start(out);
      case "content_block_start" -> blockStart(out);
      case "content_block_delta" -> blockDelta(out);
      case "message_delta" -> messageDelta(out);
      case "message_stop" -> stop(out);
      case "error" -> fail(out, Vocabulary.openAiErrorType(e.errorType),
          e.errorType == null ? "upstream_error" : e.errorType,
          e.errorMessage == null ? "the upstream reported an error" : e.errorMessage);
      default -> { } // ping, content_block_stop, and event types added later: nothing to say
    }
  }

  @Override
  public void end(SseFramer.Sink out) {
    if (!finished) {
      fail(out, "upstream_error", "upstream_failed", "the upstream stream ended before its message_stop event");
    }
  }

  private void start(SseFramer.Sink out) {
    if (e.messageId != null) {
      id = e.messageId;
    }
    if (e.model != null) {
      model = e.model;
    }
    usage.merge(e.usage);
    created = clock.millis() / 1000;
    started = true;
    String common = "data: {\"id\":" + SseBlocks.quoted(id) + ",\"object\":\"chat.completion.chunk\",\"created\":"
        + created + ",\"model\":" + SseBlocks.quoted(model) + ",\"choices\":[{\"index\":0,\"delta\":{";
    String choiceTail = ",\"logprobs\":null,\"finish_reason\":null}]" + (includeUsage ? ",\"usage\":null" : "") + "}\n\n";
    contentBefore = SseBlocks.bytes(common + "\"content\":");
    contentAfter = SseBlocks.bytes("}" + choiceTail);
    argumentsBefore = SseBlocks.bytes(common + "\"tool_calls\":[{\"index\":");
    argumentsAfter = SseBlocks.bytes("}}]}" + choiceTail);
    out.event(chunk(g -> {
      g.writeStringField("role", "assistant");
      g.writeStringField("content", "");
      g.writeNullField("refusal");
    }, null));
  }

  private void blockStart(SseFramer.Sink out) {
    if (!started || e.index < 0) {
      return;
    }
    if ("tool_use".equals(e.blockType)) {
      int k = tools++;
      mapTool(e.index, k);
      String callId = e.blockId;
      String name = e.blockName;
      out.event(chunk(g -> {
        g.writeArrayFieldStart("tool_calls");
        g.writeStartObject();
        g.writeNumberField("index", k);
        g.writeStringField("id", callId);
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", name);
        g.writeStringField("arguments", "");
        g.writeEndObject();
        g.writeEndObject();
        g.writeEndArray();
      }, null));
    } else if ("text".equals(e.blockType) && e.blockText != null && !e.blockText.isEmpty()) {
      content(out, e.blockText);
    }
  }

  private void blockDelta(SseFramer.Sink out) {
    if (!started || e.deltaType == null || e.deltaText == null) {
      return;
    }
    switch (e.deltaType) {
      case "text_delta" -> content(out, e.deltaText);
      case "input_json_delta" -> {
        int k = e.index >= 0 && e.index < toolIndex.length ? toolIndex[e.index] : -1;
        if (k < 0 || e.deltaText.isEmpty()) {
          return; // Anthropic opens each tool_use with an empty fragment: nothing to add
        }
        out.event(SseBlocks.template(alloc, argumentsBefore, k, ARGUMENTS_MIDDLE, e.deltaText, argumentsAfter));
      }
      default -> { } // thinking_delta, signature_delta, citations_delta: deliberately not carried
    }
  }

  private void content(SseFramer.Sink out, String text) {
    out.event(SseBlocks.template(alloc, contentBefore, text, contentAfter));
  }

  private void messageDelta(SseFramer.Sink out) {
    usage.merge(e.usage);
    if (!started || e.stopReason == null) {
      return;
    }
    String finish = Vocabulary.finishReason(e.stopReason);
    out.event(chunk(g -> { }, finish));
  }

  private void stop(SseFramer.Sink out) {
    if (!started) {
      return;
    }
    finished = true;
    if (includeUsage) {
      out.event(SseBlocks.event(alloc, null, g -> {
        g.writeStartObject();
        head(g);
        g.writeArrayFieldStart("choices");
        g.writeEndArray();
        usage.writeOpenAi(g);
        g.writeEndObject();
      }));
    }
    out.event(SseBlocks.fixed(alloc, DONE));
  }

  private void fail(SseFramer.Sink out, String type, String code, String message) {
    finished = true;
    out.event(SseBlocks.event(alloc, ERROR, g -> {
      g.writeStartObject();
      g.writeObjectFieldStart("error");
      g.writeStringField("message", message);
      g.writeStringField("type", type);
      g.writeStringField("code", code);
      g.writeEndObject();
      g.writeEndObject();
    }));
  }

  /** A chunk with one choice whose delta's fields {@code delta} writes. */
  private ByteBuf chunk(SseBlocks.Body delta, String finishReason) {
    return SseBlocks.event(alloc, null, g -> {
      g.writeStartObject();
      head(g);
      g.writeArrayFieldStart("choices");
      g.writeStartObject();
      g.writeNumberField("index", 0);
      g.writeObjectFieldStart("delta");
      delta.write(g);
      g.writeEndObject();
      g.writeNullField("logprobs");
      if (finishReason == null) {
        g.writeNullField("finish_reason");
      } else {
        g.writeStringField("finish_reason", finishReason);
      }
      g.writeEndObject();
      g.writeEndArray();
      if (includeUsage) {
        g.writeNullField("usage");
      }
      g.writeEndObject();
    });
  }

  private void head(JsonGenerator g) throws IOException {
    g.writeStringField("id", id);
    g.writeStringField("object", "chat.completion.chunk");
    g.writeNumberField("created", created);
    g.writeStringField("model", model);
  }

  private void mapTool(int blockIndex, int k) {
    if (blockIndex >= toolIndex.length) {
      int old = toolIndex.length;
      toolIndex = Arrays.copyOf(toolIndex, Math.max(old * 2, blockIndex + 1));
      Arrays.fill(toolIndex, old, toolIndex.length, -1);
    }
    toolIndex[blockIndex] = k;
  }
}
