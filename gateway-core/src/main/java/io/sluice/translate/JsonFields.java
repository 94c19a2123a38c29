package io.sluice.translate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Walks the fields of one JSON object with Jackson's streaming parser: the loop every event reader
 * of this package needs for its nested objects ({@code message}, {@code delta}, {@code usage},
 * {@code error}, …). Readers are kept in final fields of their (reused) owner, so walking an event
 * allocates nothing.
 */
final class JsonFields {
  private JsonFields() {}

  /** Reads one field; the parser is on its value, which the reader consumes (reads it, or skips its children). */
  @FunctionalInterface
  interface Reader {
    void field(JsonParser p, String name, JsonToken value) throws IOException;
  }

  /**
   * The parser is on {@code t}: when it starts an object, hands each of its fields to
   * {@code reader} and returns true; otherwise skips the value and returns false.
   */
  static boolean read(JsonParser p, JsonToken t, Reader reader) throws IOException {
    if (t != JsonToken.START_OBJECT) {
      p.skipChildren();
      return false;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      reader.field(p, name, p.nextToken());
    }
    return true;
  }
}
