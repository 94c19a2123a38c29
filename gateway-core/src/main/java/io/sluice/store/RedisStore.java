package io.sluice.store;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * An asynchronous Redis for plugins, shared by everything that names the same URI.
 *
 * <p>Threading: replies complete on Redis client threads, never on a gateway event loop; callers
 * on an event loop hop back to it ({@link io.sluice.plugin.PluginChain} does so for request hooks).
 * Nothing here ever blocks the caller.
 *
 * <p>Failure: while Redis is unreachable every call fails fast (commands are rejected while
 * disconnected, and a command gets no answer after a short timeout); the connection is re-made
 * in the background. {@link #degraded()} says whether the last call failed.
 */
public interface RedisStore {
  /** The URI as configured, with any password removed (for logs and metric labels). */
  String name();

  /**
   * Runs a Lua script whose reply is an integer or a list of integers.
   *
   * @return the integers of the reply; completes exceptionally when Redis cannot answer
   */
  CompletionStage<List<Long>> eval(RedisScript script, List<String> keys, List<String> args);

  /** True from a failed call until the next successful one. */
  boolean degraded();

  /**
   * The shared connection's commands, for pipelined non-blocking calls (stream sessions).
   * Never issue a blocking command ({@code XREAD BLOCK}) on it: everyone's calls would wait.
   */
  CompletionStage<RedisAsyncCommands<String, String>> commands();

  /**
   * A connection of the caller's own, for blocking reads that follow a live stream; the caller
   * closes it. Its commands may wait up to {@code timeout} for an answer.
   */
  CompletionStage<StatefulRedisConnection<String, String>> dedicated(Duration timeout);
}
