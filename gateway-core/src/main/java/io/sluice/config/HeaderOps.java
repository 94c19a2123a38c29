package io.sluice.config;

import java.util.List;
import java.util.Map;

/**
 * Header changes applied to a forwarded request or a relayed response
 * ({@code routes[].request-headers}, {@code routes[].response-headers}): remove first, then set.
 */
public record HeaderOps(Map<String, String> set, List<String> remove) {
  public static final HeaderOps NONE = new HeaderOps(Map.of(), List.of());

  public HeaderOps {
    set = Map.copyOf(set);
    remove = List.copyOf(remove);
  }

  public boolean isEmpty() {
    return set.isEmpty() && remove.isEmpty();
  }
}
