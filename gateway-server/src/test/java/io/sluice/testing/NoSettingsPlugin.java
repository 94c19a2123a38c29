package io.sluice.testing;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.PluginFactory;

/**
 * What a test-only plugin that takes no settings declares: its name and phase, priority 0, and a
 * settings block that must be empty (any key is reported). Subclasses make the plugin.
 */
abstract class NoSettingsPlugin implements PluginFactory<Object> {
  private final String name;
  private final Phase phase;

  NoSettingsPlugin(String name, Phase phase) {
    this.name = name;
    this.phase = phase;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final Phase phase() {
    return phase;
  }

  @Override
  public final int priority() {
    return 0;
  }

  @Override
  public final Object parse(PluginSettings settings) {
    settings.finish(); // takes no settings: any key is reported
    return name;
  }
}
