package io.sluice.route;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads the top-level {@code "model"} of a JSON request body with Jackson's streaming parser,
 * stopping as soon as it is found: routes that match on models should not pay for a full parse.
 */
public final class ModelExtractor {
  private static final JsonFactory JSON = new JsonFactory();

  private ModelExtractor() {}

  /** @return the model, or null when the body is not a JSON object with a string {@code model} */
  public static String model(ByteBuf body) {
    if (!body.isReadable()) {
      return null;
    }
    try (JsonParser parser = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("model".equals(field)) {
          return value == JsonToken.VALUE_STRING ? parser.getText() : null;
        }
        parser.skipChildren();
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }
}
