package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.sluice.usage.UsageShape.Field;
import java.io.IOException;

/**
 * What one parsed event (or a whole body) holds for usage: the figures, the model, whether it is
 * content, the shape of a chat chunk's choices — found by a {@link JsonWalker} that enters only the
 * containers of the {@link UsageShape} being read and skips every other subtree. The parser's half
 * of {@link UsageTracker}: for the events its byte fast path leaves to Jackson, and for JSON bodies.
 *
 * <p>Threading: not thread-safe; one per tracker.
 */
final class UsageScan implements JsonWalker.Visitor {
  private static final JsonFactory JSON = new JsonFactory();

  private final GeneratedText output;
  UsageShape table;
  String model;
  long in;
  long out;
  long cached;
  long reasoning;
  long cacheRead;
  long cacheCreation;
  boolean usageObject;
  boolean choicesArray;
  int choices;
  boolean content;

  UsageScan(GeneratedText output) {
    this.output = output;
  }

  void reset(UsageShape t) {
    table = t;
    model = null;
    in = out = cached = reasoning = cacheRead = cacheCreation = -1;
    usageObject = choicesArray = content = false;
    choices = 0;
  }

  /** Parses one event's data; false when it is not complete, valid JSON. */
  boolean parse(UsageShape t, byte[] b, int from, int to) {
    reset(t);
    try (JsonParser p = JSON.createParser(b, from, to - from)) {
      return JsonWalker.walk(p, this);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public boolean enter(String path, boolean array) {
    if (!table.containers.contains(path)) {
      return false;
    }
    if (path.equals(table.usagePath) && !array) {
      usageObject = true;
    } else if (table == UsageShape.CHAT) {
      if (path.equals("choices")) {
        choicesArray = array;
      } else if (path.equals("choices[]")) {
        choices++;
      } else if (path.endsWith(".tool_calls[]") || path.endsWith(".function_call")) {
        content = true;
      }
    }
    return true;
  }

  @Override
  public void value(String path, JsonToken token, JsonParser p) throws IOException {
    Field field = table.values.get(path);
    if (field == null) {
      return;
    }
    switch (field) {
      case MODEL -> {
        if (token == JsonToken.VALUE_STRING) {
          model = p.getText();
        }
      }
      case TEXT, CONTENT_TEXT -> {
        if (token == JsonToken.VALUE_STRING) {
          String text = p.getText();
          if (!text.isEmpty()) {
            content |= field == Field.CONTENT_TEXT;
            output.append(text);
          }
        }
      }
      default -> {
        long n = token == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
            ? p.getLongValue() : -1;
        if (n < 0) {
          return;
        }
        switch (field) {
          case IN -> in = n;
          case OUT -> out = n;
          case CACHED -> cached = n;
          case REASONING -> reasoning = n;
          case CACHE_READ -> cacheRead = n;
          case CACHE_CREATION -> cacheCreation = n;
          default -> { }
        }
      }
    }
  }

/** The top-level {@code "type"} of an event without an {@code event:} line; null if none. */
static String topLevelType(byte[] b, int from, int to) {
  try (JsonParser p = JSON.createParser(b, from, to - from)) {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return null;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if ("type".equals(field)) {
        return value == JsonToken.VALUE_STRING ? p.getText() : null;
      }
      p.skipChildren();
    }
    return null;
  } catch (IOException | RuntimeException e) {
    return null;
  }
}
}
