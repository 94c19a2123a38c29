package io.sluice.translate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The fields of one Anthropic Messages stream event that translation reads, pulled out of its
 * data with Jackson's streaming parser (every other field is skipped unread). Reused per event.
 */
final class AnthropicEvent {
  String type;
  int index;
  String messageId;
  String model;
  String blockType;
  String blockId;
  String blockName;
  String blockText;
  String deltaType;
  /** {@code text}, {@code partial_json} or {@code thinking} of a delta, whichever it carries. */
  String deltaText;
  String stopReason;
  final UsageCounts usage = new UsageCounts();
  String errorType;
  String errorMessage;

  void parse(JsonParser p) throws IOException {
    type = messageId = model = blockType = blockId = blockName = blockText = null;
    deltaType = deltaText = stopReason = errorType = errorMessage = null;
    index = -1;
    usage.clear();
    if (p.nextToken() != JsonToken.START_OBJECT) {
      throw new IOException("an Anthropic stream event is not a JSON object");
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      switch (name) {
        case "type" -> type = p.getText();
        case "index" -> index = p.getIntValue();
        case "message" -> JsonFields.read(p, t, messageField);
        case "content_block" -> JsonFields.read(p, t, blockField);
        case "delta" -> JsonFields.read(p, t, deltaField);
        case "usage" -> usage.readAnthropic(p, t);
        case "error" -> error(p, t);
        default -> p.skipChildren();
      }
    }
  }

  private final JsonFields.Reader messageField = (p, name, v) -> {
    switch (name) {
      case "id" -> messageId = p.getText();
      case "model" -> model = p.getText();
      case "usage" -> usage.readAnthropic(p, v);
      default -> p.skipChildren();
    }
  };

  private final JsonFields.Reader blockField = (p, name, v) -> {
    switch (name) {
      case "type" -> blockType = p.getText();
      case "id" -> blockId = p.getText();
      case "name" -> blockName = p.getText();
      case "text" -> blockText = p.getText();
      default -> p.skipChildren();
    }
  };

  private final JsonFields.Reader deltaField = (p, name, v) -> {
    switch (name) {
      case "type" -> deltaType = p.getText();
      case "text", "partial_json", "thinking" -> deltaText = p.getText();
      case "stop_reason" -> stopReason = v == JsonToken.VALUE_NULL ? null : p.getText();
      default -> p.skipChildren();
    }
  };

  private final JsonFields.Reader errorField = (p, name, v) -> {
    switch (name) {
      case "type" -> errorType = p.getText();
      case "message" -> errorMessage = p.getText();
      default -> p.skipChildren();
    }
  };

  private void error(JsonParser p, JsonToken t) throws IOException {
    if (!JsonFields.read(p, t, errorField)) {
      errorMessage = t == JsonToken.VALUE_STRING ? p.getText() : null; // a bare message
    }
  }
}
