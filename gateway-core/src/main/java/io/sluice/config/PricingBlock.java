package io.sluice.config;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the top-level {@code pricing} list (gateway-core/docs/usage.md, "Cost"): each entry a
 * {@code model} glob with {@code input}, {@code output} and optionally {@code cached-input}, in USD
 * per million tokens. A glob written twice is refused (the second could never match).
 */
final class PricingBlock {
  private PricingBlock() {}

  static List<PriceConfig> read(ConfigNode node) {
    List<PriceConfig> out = new ArrayList<>();
    Map<String, String> seen = new LinkedHashMap<>();
    for (MapReader m : node.mapItems()) {
      ConfigNode modelNode = m.get("model").required();
      String model = modelNode.nonEmptyString();
      if (model != null) {
        String first = seen.putIfAbsent(model, modelNode.path());
        if (first != null) {
          modelNode.problem("duplicate model " + model + " (also " + first + ")");
          model = null;
        }
      }
      BigDecimal input = m.get("input").required().nonNegativeDecimal();
      BigDecimal cached = m.get("cached-input").nonNegativeDecimal();
      BigDecimal output = m.get("output").required().nonNegativeDecimal();
      m.finish();
      if (model != null && input != null && output != null) {
        out.add(new PriceConfig(model, input, cached, output));
      }
    }
    return out;
  }
}
