package io.sluice.config;

import java.util.List;

/**
 * A public model name and who serves it ({@code models[]}).
 *
 * @param name what a client sends as {@code model}
 * @param targets in the order written; the lowest {@code priority} is tried first, {@code weight}
 *     splits requests within one priority
 */
public record ModelConfig(String name, List<Target> targets) {
  public ModelConfig {
    targets = List.copyOf(targets);
  }

  /**
   * One way to serve the alias.
   *
   * @param upstream an {@code upstreams[]} name
   * @param model the model name sent to that upstream (for Azure OpenAI: the deployment)
   */
  public record Target(String upstream, String model, int priority, int weight) {
    /** The target as metrics, logs and cooldowns name it. */
    public String key() {
      return upstream + "/" + model;
    }
  }
}
