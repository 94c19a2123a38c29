package io.sluice.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.sluice.sse.SseEvent;
import java.io.IOException;

/**
 * What an answer held back for failover shows before its first content: the failures that let
 * the exchange move on to its next target, by their {@code sluice_failovers_total} reason. Only
 * events before the first content event are looked at, so a full parse costs nothing that
 * matters.
 */
final class FirstContent {
  static final String ERROR_EVENT = "error_event";
  static final String MALFORMED_EVENT = "malformed_event";
  static final String EMPTY_BODY = "empty_body";
  static final String ERROR_BODY = "error_body";

  private static final JsonFactory JSON = new JsonFactory();

  private FirstContent() {}

  /** Why this event (before any content) fails the attempt, or null when it does not. */
  static String failure(SseEvent event) {
    if ("error".equals(event.event()) || "response.failed".equals(event.event())) {
      return ERROR_EVENT;
    }
    String data = event.data();
    if (data == null || data.isEmpty() || data.startsWith("[DONE]")) {
      return null;
    }
    try (JsonParser p = JSON.createParser(data)) {
      return errorObject(p) ? ERROR_EVENT : null;
    } catch (IOException e) {
      return MALFORMED_EVENT;
    }
  }

  /** Why a whole held JSON body fails the attempt, or null when it is an answer. */
  static String bodyFailure(ByteBuf body) {
    if (!body.isReadable()) {
      return EMPTY_BODY;
    }
    try (JsonParser p = JSON.createParser((java.io.InputStream) new ByteBufInputStream(body.duplicate()))) {
      return errorObject(p) ? ERROR_BODY : null;
    } catch (IOException e) {
      return ERROR_BODY; // a 2xx whose JSON is broken is no answer either
    }
  }

  /**
   * Reads one JSON value to its end; true when it is an object with a non-null top-level
   * {@code error} (OpenAI's and most providers' shape) or {@code "type":"error"} (Anthropic's), or
   * a Responses {@code response.failed}.
   */
  private static boolean errorObject(JsonParser p) throws IOException {
    JsonToken first = p.nextToken();
    if (first != JsonToken.START_OBJECT) {
      p.skipChildren();
      if (p.nextToken() != null) {
        throw new IOException("trailing data");
      }
      return false;
    }
    boolean error = false;
    for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (name.equals("error") && value != JsonToken.VALUE_NULL) {
        error = true;
      } else if (name.equals("type") && value == JsonToken.VALUE_STRING
          && (p.getText().equals("error") || p.getText().equals("response.failed"))) {
        error = true;
      }
      p.skipChildren();
    }
    if (p.nextToken() != null) {
      throw new IOException("trailing data");
    }
    return error;
  }
}
