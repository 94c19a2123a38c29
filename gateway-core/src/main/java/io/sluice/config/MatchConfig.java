package io.sluice.config;

import java.util.List;
import java.util.Map;

/**
 * Which requests a route takes ({@code routes[].match}). Exactly one of {@code path} and
 * {@code pathPrefix} is set.
 *
 * @param methods upper-case; empty = any method
 * @param headers lower-case names; all must be present with exactly these values
 * @param models globs ({@code *} and {@code ?}) on the JSON body's {@code model}; empty = any
 */
public record MatchConfig(
    String path,
    String pathPrefix,
    List<String> methods,
    Map<String, String> headers,
    List<String> models) {

  public MatchConfig {
    methods = List.copyOf(methods);
    headers = Map.copyOf(headers);
    models = List.copyOf(models);
  }
}
