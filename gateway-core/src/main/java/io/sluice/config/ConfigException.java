package io.sluice.config;

import java.util.List;

/** A config that cannot be used; {@link #errors()} holds every problem found, each with its path. */
public final class ConfigException extends Exception {
  private final List<String> errors;

  public ConfigException(List<String> errors) {
    super(String.join("\n", errors));
    this.errors = List.copyOf(errors);
  }

  public List<String> errors() {
    return errors;
  }
}
