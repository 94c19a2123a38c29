package io.sluice.store;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's Redis connections: one {@link RedisStore} per URI, made on first use and shared
 * by every route and plugin that names it, closed with the gateway. Lives as long as the process
 * (reloads keep it), so a reload never reconnects.
 *
 * <p>Lettuce's defaults would make a request wait while Redis is down (a 60 s command timeout,
 * commands queued while reconnecting). Here: a short command timeout ({@link #COMMAND_TIMEOUT}),
 * commands rejected at once while disconnected, automatic reconnection with a delay capped at one
 * second. A first connection that fails is retried on use, at most once per {@link #RETRY_CONNECT}.
 *
 * <p>Threading: Lettuce runs on its own small Netty event loop group (one I/O thread), never on
 * the gateway's loops. Every method is thread-safe.
 *
 * <p>Failure: each store logs once per transition — a warning when its calls start failing, an
 * info line when they succeed again — and tells {@code health} (a metric gauge) the same.
 */
public final class RedisStores implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisStores.class);
  /** How long a command may wait for its answer. */
  public static final Duration COMMAND_TIMEOUT = Duration.ofMillis(250);
  static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
  static final Duration RETRY_CONNECT = Duration.ofSeconds(1);

  private final BiConsumer<String, Boolean> health;
  private final Map<String, Store> stores = new ConcurrentHashMap<>();
  private volatile ClientResources resources;
  private volatile boolean closed;

  /** @param health told {@code (store name, degraded)} on every transition */
  public RedisStores(BiConsumer<String, Boolean> health) {
    this.health = health;
  }

  /** Checks a {@code redis://host:port} URI; returns null when usable, else what is wrong. */
  public static String problem(String uri) {
    String lower = uri.toLowerCase(Locale.ROOT);
    if (!lower.startsWith("redis://") && !lower.startsWith("rediss://")) {
      return "expected redis://host:port or rediss://host:port (got '" + redact(uri) + "')";
    }
    try {
      RedisURI parsed = RedisURI.create(uri);
      if (parsed.getHost() == null || parsed.getHost().isEmpty()) {
        return "expected a host in '" + redact(uri) + "'";
      }
      return null;
    } catch (RuntimeException e) {
      return "not a Redis URI: '" + redact(uri) + "'";
    }
  }

  /** The store for a URI (validated with {@link #problem} beforehand); starts connecting on first use. */
  public RedisStore get(String uri) {
    if (closed) {
      throw new IllegalStateException("the gateway's Redis connections are closed");
    }
    Store store = stores.computeIfAbsent(uri, Store::new);
    store.connection(); // starts connecting now, so the first request does not pay for it
    return store;
  }

  /** Closes every connection and the client threads (waits up to two seconds). */
  @Override
  public void close() {
    closed = true;
    for (Store s : stores.values()) {
      s.close();
    }
    stores.clear();
    ClientResources r = resources;
    if (r != null) {
      r.shutdown(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }
  }

  private ClientResources resources() {
    ClientResources r = resources;
    if (r == null) {
      synchronized (this) {
        if (resources == null) {
          resources = DefaultClientResources.builder()
              .ioThreadPoolSize(1)
              .computationThreadPoolSize(1)
              .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
              .build();
        }
        r = resources;
      }
    }
    return r;
  }

  /** The URI without user info, for logs and labels: {@code redis://host:port}. */
  static String redact(String uri) {
    int scheme = uri.indexOf("://");
    int at = uri.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return uri;
    }
    return uri.substring(0, scheme + 3) + uri.substring(at + 1);
  }

  /** One URI's connection. */
  private final class Store implements RedisStore {
    private final String uri;
    private final String name;
    private final Object lock = new Object();
    private RedisClient client;
    private CompletableFuture<StatefulRedisConnection<String, String>> connection;
    private long lastFailedConnectNanos;
    private boolean degraded;

    Store(String uri) {
      this.uri = uri;
      this.name = redact(uri);
      health.accept(name, false); // the gauge exists (at 0) from the first use
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public boolean degraded() {
      synchronized (lock) {
        return degraded;
      }
    }

    @Override
    public CompletionStage<List<Long>> eval(RedisScript script, List<String> keys, List<String> args) {
      String[] k = keys.toArray(String[]::new);
      String[] a = args.toArray(String[]::new);
      CompletableFuture<List<Long>> result = connection().thenCompose(c ->
          c.async().<List<Object>>evalsha(script.sha1(), ScriptOutputType.MULTI, k, a).toCompletableFuture()
              .exceptionallyCompose(e -> unwrap(e) instanceof RedisNoScriptException
                  ? c.async().<List<Object>>eval(script.source(), ScriptOutputType.MULTI, k, a).toCompletableFuture()
                  : CompletableFuture.failedFuture(unwrap(e))))
          .thenApply(Store::longs);
      return result.whenComplete((r, e) -> transition(e));
    }

    @Override
    public CompletionStage<RedisAsyncCommands<String, String>> commands() {
      return connection().thenApply(StatefulRedisConnection::async).whenComplete((r, e) -> transition(e));
    }

    @Override
    public CompletionStage<StatefulRedisConnection<String, String>> dedicated(Duration timeout) {
      connection(); // makes the client
      RedisClient c;
      synchronized (lock) {
        c = client;
      }
      if (c == null) {
        return CompletableFuture.failedFuture(new IllegalStateException("closed"));
      }
      return c.connectAsync(StringCodec.UTF8, RedisURI.create(uri)).toCompletableFuture().thenApply(conn -> {
        conn.setTimeout(timeout);
        return conn;
      });
    }

    private static List<Long> longs(List<Object> reply) {
      List<Long> out = new ArrayList<>(reply.size());
      for (Object o : reply) {
        out.add(o instanceof Long l ? l : Long.parseLong(String.valueOf(o)));
      }
      return out;
    }

    private CompletableFuture<StatefulRedisConnection<String, String>> connection() {
      synchronized (lock) {
        if (closed) {
          return CompletableFuture.failedFuture(new IllegalStateException("closed"));
        }
        CompletableFuture<StatefulRedisConnection<String, String>> c = connection;
        if (c != null && (!c.isDone() || !c.isCompletedExceptionally())) {
          return c;
        }
        if (c != null && System.nanoTime() - lastFailedConnectNanos < RETRY_CONNECT.toNanos()) {
          return c; // the last attempt failed a moment ago: fail fast instead of trying again
        }
        if (client == null) {
          client = RedisClient.create(resources(), RedisURI.create(uri));
          client.setOptions(ClientOptions.builder()
              .autoReconnect(true)
              .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
              .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
              .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).build())
              .build());
        }
        CompletableFuture<StatefulRedisConnection<String, String>> next =
            client.connectAsync(StringCodec.UTF8, RedisURI.create(uri)).toCompletableFuture();
        connection = next;
        next.whenComplete((conn, e) -> {
          if (e != null) {
            synchronized (lock) {
              lastFailedConnectNanos = System.nanoTime();
            }
          }
        });
        return next;
      }
    }

    /** Logs and reports a change between healthy and degraded. */
    private void transition(Throwable failure) {
      boolean nowDegraded = failure != null;
      synchronized (lock) {
        if (degraded == nowDegraded) {
          return;
        }
        degraded = nowDegraded;
      }
      if (nowDegraded) {
        log.warn("Redis {} is unreachable ({}); its users fall back to local state until it answers again",
            name, unwrap(failure).toString());
      } else {
        log.info("Redis {} answers again; shared state resumed", name);
      }
      health.accept(name, nowDegraded);
    }

    void close() {
      CompletableFuture<StatefulRedisConnection<String, String>> c;
      RedisClient cl;
      synchronized (lock) {
        c = connection;
        cl = client;
      }
      if (c != null) {
        c.thenAccept(StatefulRedisConnection::closeAsync);
      }
      if (cl != null) {
        cl.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    }
  }

  private static Throwable unwrap(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }
}
