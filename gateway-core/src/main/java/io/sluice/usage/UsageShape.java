package io.sluice.usage;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Where each API's events and bodies hold what usage tracking reads: the value paths per shape (a
 * chat chunk, a Responses event, an Anthropic {@code message_start}, …) and the containers on the
 * way to them; the JSON walker skips every other container without building its paths.
 */
enum UsageShape {
  CHAT(chat(), "usage"),
  RESPONSES_EVENT(Map.of(
      "response.model", Field.MODEL,
      "response.usage.input_tokens", Field.IN,
      "response.usage.output_tokens", Field.OUT,
      "response.usage.input_tokens_details.cached_tokens", Field.CACHED,
      "response.usage.output_tokens_details.reasoning_tokens", Field.REASONING), "response.usage"),
  RESPONSES_DELTA(Map.of("delta", Field.TEXT), null),
  RESPONSES_BODY(Map.of(
      "model", Field.MODEL,
      "usage.input_tokens", Field.IN,
      "usage.output_tokens", Field.OUT,
      "usage.input_tokens_details.cached_tokens", Field.CACHED,
      "usage.output_tokens_details.reasoning_tokens", Field.REASONING,
      "output[].content[].text", Field.TEXT,
      "output[].content[].refusal", Field.TEXT,
      "output[].summary[].text", Field.TEXT,
      "output[].arguments", Field.TEXT), "usage"),
  ANTHROPIC_START(Map.of(
      "message.model", Field.MODEL,
      "message.usage.input_tokens", Field.IN,
      "message.usage.output_tokens", Field.OUT,
      "message.usage.cache_read_input_tokens", Field.CACHE_READ,
      "message.usage.cache_creation_input_tokens", Field.CACHE_CREATION), "message.usage"),
  ANTHROPIC_DELTA(Map.of(
      "delta.text", Field.TEXT,
      "delta.thinking", Field.TEXT,
      "delta.partial_json", Field.TEXT), null),
  ANTHROPIC_DELTA_USAGE(Map.of(
      "usage.input_tokens", Field.IN,
      "usage.output_tokens", Field.OUT,
      "usage.cache_read_input_tokens", Field.CACHE_READ,
      "usage.cache_creation_input_tokens", Field.CACHE_CREATION), "usage"),
  ANTHROPIC_BODY(Map.of(
      "model", Field.MODEL,
      "usage.input_tokens", Field.IN,
      "usage.output_tokens", Field.OUT,
      "usage.cache_read_input_tokens", Field.CACHE_READ,
      "usage.cache_creation_input_tokens", Field.CACHE_CREATION,
      "content[].text", Field.TEXT,
      "content[].thinking", Field.TEXT), "usage");

  final Map<String, Field> values;
  final Set<String> containers = new HashSet<>();
  final String usagePath;

  UsageShape(Map<String, Field> values, String usagePath) {
    this.values = values;
    this.usagePath = usagePath;
    containers.add("");
    for (String path : values.keySet()) {
      for (int i = 0; i < path.length(); i++) {
        char c = path.charAt(i);
        if (c == '.') {
          containers.add(path.substring(0, i));
        } else if (c == '[') {
          containers.add(path.substring(0, i));
          containers.add(path.substring(0, i + 2));
        }
      }
    }
  }

  private static Map<String, Field> chat() {
    Map<String, Field> m = new HashMap<>();
    m.put("model", Field.MODEL);
    m.put("usage.prompt_tokens", Field.IN);
    m.put("usage.completion_tokens", Field.OUT);
    m.put("usage.prompt_tokens_details.cached_tokens", Field.CACHED);
    m.put("usage.completion_tokens_details.reasoning_tokens", Field.REASONING);
    for (String part : new String[] {"delta", "message"}) {
      String p = "choices[]." + part + ".";
      m.put(p + "content", Field.CONTENT_TEXT);
      m.put(p + "reasoning_content", Field.CONTENT_TEXT);
      m.put(p + "reasoning", Field.CONTENT_TEXT);
      m.put(p + "refusal", Field.CONTENT_TEXT);
      m.put(p + "tool_calls[].function.name", Field.CONTENT_TEXT);
      m.put(p + "tool_calls[].function.arguments", Field.CONTENT_TEXT);
      m.put(p + "function_call.name", Field.CONTENT_TEXT);
      m.put(p + "function_call.arguments", Field.CONTENT_TEXT);
    }
    return Map.copyOf(m);
  }

  /** What a value path holds. */
  enum Field { MODEL, IN, OUT, CACHED, REASONING, CACHE_READ, CACHE_CREATION, TEXT, CONTENT_TEXT }
}
