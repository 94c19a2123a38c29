package io.sluice.plugin;

import io.sluice.config.PluginSettings;

/**
 * Makes one kind of plugin ({@code key-auth}, {@code rate-limit}, …). Found through
 * {@link java.util.ServiceLoader}: list implementations in
 * {@code META-INF/services/io.sluice.plugin.PluginFactory}.
 *
 * <p>Two steps, so a bad config is refused before anything starts: {@link #parse} validates the
 * YAML into an immutable settings object (reporting every problem with its path), then
 * {@link #create} builds the running plugin from it.
 *
 * @param <S> the plugin's validated settings
 */
public interface PluginFactory<S> {
  /** The key under {@code routes[].plugins}. */
  String name();

  Phase phase();

  /** Order inside the phase: higher runs first. */
  int priority();

  /**
   * Reads and validates the settings; reports problems through {@code settings.problem(…)} and
   * returns null when they cannot be used. Must call {@code settings.finish()} on maps it reads so
   * unknown keys are reported.
   */
  S parse(PluginSettings settings);

  /**
   * True when the plugin's request hook needs the request body ({@link RequestContext#body()}),
   * e.g. to estimate a prompt's tokens. Such plugins run once the body is read; the others run on
   * the headers, before it.
   */
  default boolean needsBody() {
    return false;
  }

  /** The running plugin for one route. */
  Plugin create(S settings, PluginServices services);
}
