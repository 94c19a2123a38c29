package io.sluice.translate;

import com.fasterxml.jackson.core.JsonParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.sse.SseFramer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An OpenAI Chat Completions stream (upstream) as an Anthropic Messages event sequence (client).
 *
 * <pre>
 * first chunk                → message_start (usage so far, input 0 until the usage chunk), ping
 * delta.content / refusal    → content_block_start text (when no text block is open), content_block_delta text_delta
 * delta.tool_calls[i] with id → content_block_stop of the open block, content_block_start tool_use {id, name, input: {}}
 * delta.tool_calls[i].function.arguments → content_block_delta input_json_delta (the block of call i)
 * finish_reason              → content_block_stop of the open block; the stop reason is kept
 * usage chunk                → counts kept
 * data: [DONE]               → message_delta {stop_reason, usage}, message_stop
 * {"error": ...}             → event: error {"type":"error","error":{"type","message"}}; stream ends
 * </pre>
 *
 * <p>Why message_delta waits for {@code [DONE]}: OpenAI sends usage in a chunk after the one with
 * {@code finish_reason} (the gateway always asks for it), and Anthropic's usage belongs in
 * message_delta, before message_stop. The wait is one event; nothing with content is held back.
 */
final class ChatToAnthropicStream implements StreamTranslator {
  private static final byte[] MESSAGE_START = SseBlocks.eventLine("message_start");
  private static final byte[] BLOCK_START = SseBlocks.eventLine("content_block_start");
  private static final byte[] DELTA_BEFORE =
      SseBlocks.bytes("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
  private static final byte[] TEXT_MIDDLE = SseBlocks.bytes(",\"delta\":{\"type\":\"text_delta\",\"text\":");
  private static final byte[] JSON_MIDDLE =
      SseBlocks.bytes(",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":");
  private static final byte[] DELTA_AFTER = SseBlocks.bytes("}}\n\n");
  private static final byte[] BLOCK_STOP = SseBlocks.eventLine("content_block_stop");
  private static final byte[] MESSAGE_DELTA = SseBlocks.eventLine("message_delta");
  private static final byte[] ERROR = SseBlocks.eventLine("error");
  private static final byte[] PING = "event: ping\ndata: {\"type\": \"ping\"}\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MESSAGE_STOP =
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".getBytes(StandardCharsets.US_ASCII);

  private final ByteBufAllocator alloc;
  private final SseBlocks io = new SseBlocks();
  private final ChatChunk c = new ChatChunk();
  private final UsageCounts usage = new UsageCounts();

  private boolean started;
  private boolean finished;
  private String stopReason;
  /** The open content block's index, or -1; {@code openIsText} says which kind it is. */
  private int open = -1;
  private boolean openIsText;
  private int blocks;
  /** OpenAI tool call index → Anthropic block index (-1 when not started). */
  private int[] toolBlock = new int[4];

  ChatToAnthropicStream(ByteBufAllocator alloc) {
    this.alloc = alloc;
    Arrays.fill(toolBlock, -1);
  }

  @Override
  public boolean finished() {
    return finished;
  }

  @Override
  public void translate(ByteBuf event, SseFramer.Sink out) {
    if (finished || !io.readData(event)) {
      return;
    }
    if (io.dataIsDone()) {
      complete(out);
      return;
    }
    try (JsonParser p = io.parser()) {
      c.parse(p, !started);
    } catch (IOException ex) {
      fail(out, "api_error", "the upstream sent a malformed stream event");
      return;
    }
    if (c.error) {
      fail(out, Vocabulary.anthropicErrorType(c.errorType, c.errorCode, 0),
          c.errorMessage == null ? "the upstream reported an error" : c.errorMessage);
      return;
    }
    usage.merge(c.usage);
    if (!started) {
      start(out, c.id, c.model);
    }
    if (c.content != null && !c.content.isEmpty()) {
      text(out, c.content);
    }
    for (int i = 0; i < c.tools; i++) {
      tool(out, c.toolIndex[i], c.toolId[i], c.toolName[i], c.toolArguments[i]);
    }
    if (c.finishReason != null) {
      closeOpen(out);
      stopReason = Vocabulary.stopReason(c.finishReason);
    }
  }

  @Override
  public void end(SseFramer.Sink out) {
    if (finished) {
      return;
    }
    if (stopReason != null) {
      complete(out); // a server that ends after its finish chunk without [DONE]
    } else {
      fail(out, "api_error", "the upstream stream ended before its last chunk");
    }
  }

  private void start(SseFramer.Sink out, String id, String model) {
    started = true;
    String messageId = id == null ? "msg_sluice" : id;
    String modelName = model == null ? "" : model;
    out.event(SseBlocks.event(alloc, MESSAGE_START, g -> {
      g.writeStartObject();
      g.writeStringField("type", "message_start");
      g.writeObjectFieldStart("message");
      g.writeStringField("id", messageId);
      g.writeStringField("type", "message");
      g.writeStringField("role", "assistant");
      g.writeStringField("model", modelName);
      g.writeArrayFieldStart("content");
      g.writeEndArray();
      g.writeNullField("stop_reason");
      g.writeNullField("stop_sequence");
      usage.writeAnthropic(g);
      g.writeEndObject();
      g.writeEndObject();
    }));
    out.event(SseBlocks.fixed(alloc, PING));
  }

  private void text(SseFramer.Sink out, String text) {
    if (open < 0 || !openIsText) {
      closeOpen(out);
      open = blocks++;
      openIsText = true;
      int index = open;
      out.event(SseBlocks.event(alloc, BLOCK_START, g -> {
        g.writeStartObject();
        g.writeStringField("type", "content_block_start");
        g.writeNumberField("index", index);
        g.writeObjectFieldStart("content_block");
        g.writeStringField("type", "text");
        g.writeStringField("text", "");
        g.writeEndObject();
        g.writeEndObject();
      }));
    }
    out.event(SseBlocks.template(alloc, DELTA_BEFORE, open, TEXT_MIDDLE, text, DELTA_AFTER));
  }

  private void tool(SseFramer.Sink out, int k, String id, String name, String arguments) {
    if (k < 0) {
      return;
    }
    if (k >= toolBlock.length) {
      int old = toolBlock.length;
      toolBlock = Arrays.copyOf(toolBlock, Math.max(old * 2, k + 1));
      Arrays.fill(toolBlock, old, toolBlock.length, -1);
    }
    if (toolBlock[k] < 0) {
      closeOpen(out);
      int index = blocks++;
      toolBlock[k] = index;
      open = index;
      openIsText = false;
      String callId = id == null ? "call_" + k : id;
      String callName = name == null ? "" : name;
      out.event(SseBlocks.event(alloc, BLOCK_START, g -> {
        g.writeStartObject();
        g.writeStringField("type", "content_block_start");
        g.writeNumberField("index", index);
        g.writeObjectFieldStart("content_block");
        g.writeStringField("type", "tool_use");
        g.writeStringField("id", callId);
        g.writeStringField("name", callName);
        g.writeObjectFieldStart("input");
        g.writeEndObject();
        g.writeEndObject();
        g.writeEndObject();
      }));
    }
    if (arguments != null && !arguments.isEmpty()) {
      out.event(SseBlocks.template(alloc, DELTA_BEFORE, toolBlock[k], JSON_MIDDLE, arguments, DELTA_AFTER));
    }
  }

  private void closeOpen(SseFramer.Sink out) {
    if (open < 0) {
      return;
    }
    int index = open;
    open = -1;
    out.event(SseBlocks.event(alloc, BLOCK_STOP, g -> {
      g.writeStartObject();
      g.writeStringField("type", "content_block_stop");
      g.writeNumberField("index", index);
      g.writeEndObject();
    }));
  }

  private void complete(SseFramer.Sink out) {
    if (!started) {
      fail(out, "api_error", "the upstream stream ended without any content");
      return;
    }
    closeOpen(out);
    finished = true;
    String reason = stopReason == null ? "end_turn" : stopReason;
    out.event(SseBlocks.event(alloc, MESSAGE_DELTA, g -> {
      g.writeStartObject();
      g.writeStringField("type", "message_delta");
      g.writeObjectFieldStart("delta");
      g.writeStringField("stop_reason", reason);
      g.writeNullField("stop_sequence");
      g.writeEndObject();
      usage.writeAnthropic(g);
      g.writeEndObject();
    }));
    out.event(SseBlocks.fixed(alloc, MESSAGE_STOP));
  }

  private void fail(SseFramer.Sink out, String type, String message) {
    finished = true;
    out.event(SseBlocks.event(alloc, ERROR, g -> {
      g.writeStartObject();
      g.writeStringField("type", "error");
      g.writeObjectFieldStart("error");
      g.writeStringField("type", type);
      g.writeStringField("message", message);
      g.writeEndObject();
      g.writeEndObject();
    }));
  }
}
