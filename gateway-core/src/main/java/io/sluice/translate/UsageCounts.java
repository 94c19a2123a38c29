package io.sluice.translate;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Token counts on their way from one API's usage object to the other's. The two count input
 * differently: Anthropic's {@code input_tokens} excludes the prompt-cache reads and writes
 * ({@code cache_read_input_tokens}, {@code cache_creation_input_tokens}); OpenAI's
 * {@code prompt_tokens} includes cached tokens ({@code prompt_tokens_details.cached_tokens}). So
 * Anthropic → OpenAI: {@code prompt_tokens = input + cache_read + cache_creation},
 * {@code cached_tokens = cache_read}; OpenAI → Anthropic: {@code input_tokens = prompt_tokens -
 * cached_tokens}, {@code cache_read_input_tokens = cached_tokens}. Totals are the same both ways.
 * A count the upstream did not send is -1 (absent), never 0.
 */
final class UsageCounts {
  /** Anthropic-style uncached input, or -1. */
  long input = -1;
  long output = -1;
  long cacheRead = -1;
  long cacheCreation = -1;

  void clear() {
    input = output = cacheRead = cacheCreation = -1;
  }

  boolean any() {
    return input >= 0 || output >= 0 || cacheRead >= 0 || cacheCreation >= 0;
  }

  /** Overwrites with the counts {@code other} has (Anthropic's counts are cumulative totals). */
  void merge(UsageCounts other) {
    if (other.input >= 0) {
      input = other.input;
    }
    if (other.output >= 0) {
      output = other.output;
    }
    if (other.cacheRead >= 0) {
      cacheRead = other.cacheRead;
    }
    if (other.cacheCreation >= 0) {
      cacheCreation = other.cacheCreation;
    }
  }

  /** OpenAI {@code prompt_tokens}: every input token, cached or not. */
  long promptTokens() {
    return n(input) + n(cacheRead) + n(cacheCreation);
  }

  long completionTokens() {
    return n(output);
  }

  private static long n(long v) {
    return Math.max(v, 0);
  }

  /** Reads an Anthropic {@code usage} object (the parser is on its START_OBJECT). */
  void readAnthropic(JsonParser p, JsonToken t) throws IOException {
    JsonFields.read(p, t, anthropicField);
  }

  private final JsonFields.Reader anthropicField = (p, name, v) -> {
    long value = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
    switch (name) {
      case "input_tokens" -> input = value;
      case "output_tokens" -> output = value;
      case "cache_read_input_tokens" -> cacheRead = value;
      case "cache_creation_input_tokens" -> cacheCreation = value;
      default -> p.skipChildren();
    }
  };

  /** Reads an OpenAI {@code usage} object (the parser is on its START_OBJECT); null usage is skipped. */
  void readOpenAi(JsonParser p, JsonToken t) throws IOException {
    if (t != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    long prompt = -1;
    long cached = -1;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      switch (name) {
        case "prompt_tokens" -> prompt = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
        case "completion_tokens" -> output = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
        case "prompt_tokens_details" -> {
          if (v == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String detail = p.currentName();
              JsonToken dv = p.nextToken();
              if (detail.equals("cached_tokens") && dv == JsonToken.VALUE_NUMBER_INT) {
                cached = p.getLongValue();
              } else {
                p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
        default -> p.skipChildren();
      }
    }
    setFromOpenAi(prompt, cached);
  }

  private void setFromOpenAi(long prompt, long cached) {
    if (prompt >= 0) {
      input = prompt - Math.max(cached, 0);
    }
    if (cached >= 0) {
      cacheRead = cached;
    }
  }

  /** Reads an OpenAI usage object from a tree. */
  void readOpenAi(JsonNode usage) {
    if (usage == null || !usage.isObject()) {
      return;
    }
    output = usage.path("completion_tokens").asLong(-1);
    JsonNode cached = usage.path("prompt_tokens_details").path("cached_tokens");
    setFromOpenAi(usage.path("prompt_tokens").asLong(-1), cached.isIntegralNumber() ? cached.asLong() : -1);
  }

  /** Reads an Anthropic usage object from a tree. */
  void readAnthropic(JsonNode usage) {
    if (usage == null || !usage.isObject()) {
      return;
    }
    input = usage.path("input_tokens").asLong(-1);
    output = usage.path("output_tokens").asLong(-1);
    cacheRead = usage.path("cache_read_input_tokens").asLong(-1);
    cacheCreation = usage.path("cache_creation_input_tokens").asLong(-1);
  }

  /** Writes OpenAI's {@code "usage": {...}} field. */
  void writeOpenAi(JsonGenerator g) throws IOException {
    g.writeObjectFieldStart("usage");
    g.writeNumberField("prompt_tokens", promptTokens());
    g.writeNumberField("completion_tokens", completionTokens());
    g.writeNumberField("total_tokens", promptTokens() + completionTokens());
    g.writeObjectFieldStart("prompt_tokens_details");
    g.writeNumberField("cached_tokens", n(cacheRead));
    g.writeEndObject();
    g.writeEndObject();
  }

  void writeOpenAi(ObjectNode parent) {
    ObjectNode u = parent.putObject("usage");
    u.put("prompt_tokens", promptTokens());
    u.put("completion_tokens", completionTokens());
    u.put("total_tokens", promptTokens() + completionTokens());
    u.putObject("prompt_tokens_details").put("cached_tokens", n(cacheRead));
  }

  /** Writes Anthropic's {@code "usage": {...}} field. */
  void writeAnthropic(JsonGenerator g) throws IOException {
    g.writeObjectFieldStart("usage");
    g.writeNumberField("input_tokens", n(input));
    g.writeNumberField("cache_creation_input_tokens", n(cacheCreation));
    g.writeNumberField("cache_read_input_tokens", n(cacheRead));
    g.writeNumberField("output_tokens", n(output));
    g.writeEndObject();
  }

  void writeAnthropic(ObjectNode parent) {
    ObjectNode u = parent.putObject("usage");
    u.put("input_tokens", n(input));
    u.put("cache_creation_input_tokens", n(cacheCreation));
    u.put("cache_read_input_tokens", n(cacheRead));
    u.put("output_tokens", n(output));
  }
}
