package io.sluice.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/** Whole JSON bodies (requests, non-streamed responses, errors) in and out, as Jackson trees. */
final class JsonBodies {
  static final ObjectMapper JSON = new ObjectMapper();

  private JsonBodies() {}

  /** The body as a JSON object, or {@link MalformedBodyException}. */
  static JsonNode parse(byte[] body) {
    try {
      JsonNode in = JSON.readTree(body);
      if (in == null || !in.isObject()) {
        throw new MalformedBodyException("the body is not a JSON object");
      }
      return in;
    } catch (IOException e) {
      throw new MalformedBodyException("the body is not valid JSON");
    }
  }

  static byte[] write(JsonNode out) {
    try {
      return JSON.writeValueAsBytes(out);
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
  }
}
