package io.sluice.translate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Arrays;

/**
 * The fields of one OpenAI {@code chat.completion.chunk} (or an in-stream error object) that
 * translation reads, pulled out with Jackson's streaming parser; only choice 0 is read (an
 * Anthropic client cannot ask for more). Reused per event.
 */
final class ChatChunk {
  String id;
  String model;
  String content;
  String finishReason;
  final UsageCounts usage = new UsageCounts();
  boolean error;
  String errorType;
  String errorCode;
  String errorMessage;
  /** Tool call fragments in this chunk: {@code tools} entries are valid. */
  int tools;
  int[] toolIndex = new int[2];
  String[] toolId = new String[2];
  String[] toolName = new String[2];
  String[] toolArguments = new String[2];

  /**
   * Reads one chunk; {@code head}: also its {@code id} and {@code model} (needed from the first
   * chunk only — left undecoded otherwise, which Jackson's lazy string tokens make free).
   */
  void parse(JsonParser p, boolean head) throws IOException {
    id = model = content = finishReason = errorType = errorCode = errorMessage = null;
    error = false;
    tools = 0;
    usage.clear();
    if (p.nextToken() != JsonToken.START_OBJECT) {
      throw new IOException("a chat chunk is not a JSON object");
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      switch (name) {
        case "id" -> id = head ? p.getText() : null;
        case "model" -> model = head ? p.getText() : null;
        case "choices" -> choices(p, t);
        case "usage" -> usage.readOpenAi(p, t);
        case "error" -> error(p, t);
        default -> p.skipChildren();
      }
    }
  }

  private void choices(JsonParser p, JsonToken t) throws IOException {
    if (t != JsonToken.START_ARRAY) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.START_OBJECT) {
      int index = 0;
      // a choice's fields in any order: read them, keep them only for choice 0
      String c = null;
      String finish = null;
      int before = tools;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "index" -> index = p.getIntValue();
          case "finish_reason" -> finish = v == JsonToken.VALUE_NULL ? null : p.getText();
          case "delta" -> c = delta(p, v);
          default -> p.skipChildren();
        }
      }
      if (index == 0) {
        content = c;
        finishReason = finish;
      } else {
        tools = before;
      }
    }
  }

  /** Reads a delta; returns its text (content, or refusal text), records tool call fragments. */
  private String delta(JsonParser p, JsonToken t) throws IOException {
    if (t != JsonToken.START_OBJECT) {
      p.skipChildren();
      return null;
    }
    String text = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      switch (name) {
        case "content", "refusal" -> {
          if (v == JsonToken.VALUE_STRING) {
            text = text == null ? p.getText() : text + p.getText();
          }
        }
        case "tool_calls" -> toolCalls(p, v);
        default -> p.skipChildren();
      }
    }
    return text;
  }

  private void toolCalls(JsonParser p, JsonToken t) throws IOException {
    if (t != JsonToken.START_ARRAY) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.START_OBJECT) {
      grow();
      int i = tools++;
      toolIndex[i] = 0;
      toolId[i] = toolName[i] = toolArguments[i] = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "index" -> toolIndex[i] = p.getIntValue();
          case "id" -> toolId[i] = v == JsonToken.VALUE_NULL ? null : p.getText();
          case "function" -> {
            if (v != JsonToken.START_OBJECT) {
              p.skipChildren();
              continue;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String f = p.currentName();
              JsonToken fv = p.nextToken();
              if (fv == JsonToken.VALUE_STRING && f.equals("name")) {
                toolName[i] = p.getText();
              } else if (fv == JsonToken.VALUE_STRING && f.equals("arguments")) {
                toolArguments[i] = p.getText();
              } else {
                p.skipChildren();
              }
            }
          }
          default -> p.skipChildren();
        }
      }
    }
  }

  private void grow() {
    if (tools == toolIndex.length) {
      int n = tools * 2;
      toolIndex = Arrays.copyOf(toolIndex, n);
      toolId = Arrays.copyOf(toolId, n);
      toolName = Arrays.copyOf(toolName, n);
      toolArguments = Arrays.copyOf(toolArguments, n);
    }
  }

  private final JsonFields.Reader errorField = (p, name, v) -> {
    switch (name) {
      case "type" -> errorType = v == JsonToken.VALUE_NULL ? null : p.getText();
      case "code" -> errorCode = v == JsonToken.VALUE_NULL ? null : p.getText();
      case "message" -> errorMessage = p.getText();
      default -> p.skipChildren();
    }
  };

  private void error(JsonParser p, JsonToken t) throws IOException {
    error = true;
    if (!JsonFields.read(p, t, errorField)) {
      errorMessage = t == JsonToken.VALUE_STRING ? p.getText() : null; // a bare message
    }
  }
}
