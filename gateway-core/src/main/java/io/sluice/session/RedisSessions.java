package io.sluice.session;

import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.store.RedisStore;
import io.sluice.store.RedisStores;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stream sessions shared through Redis ({@code sse.resume.store: redis://…}), so that a client
 * can resume on another gateway instance — after a deploy, or when its balancer sends it
 * elsewhere — while the instance that runs the generation goes on filling the session.
 *
 * <p>Layout, per session (the {@code {id}} hash tag keeps both keys on one cluster slot):
 * <ul>
 *   <li>{@code sluice:stream:{<id>}:meta} — hash {@code owner}, {@code route};</li>
 *   <li>{@code sluice:stream:{<id>}} — a Redis stream, one entry per event with entry id
 *       {@code <seq>-0} and field {@code data} (the event as the client got it); field
 *       {@code lost} for an event too large to keep; the end is entry {@code <last seq>-1} with
 *       field {@code end}. Trimmed to {@code buffer-events} entries.</li>
 * </ul>
 * Both expire {@code ttl} after the last event (each append renews them).
 *
 * <p>Writes go through the store's shared connection, pipelined and never awaited on the
 * producer's event loop. A resume elsewhere follows the live stream with {@code XREAD BLOCK} on a
 * connection of its own ({@link RedisStore#dedicated}), never the shared one.
 *
 * <p>Failure: Redis being down never harms the stream itself; the session just is not resumable
 * elsewhere meanwhile (logged once by the store).
 */
final class RedisSessions {
  private static final Logger log = LoggerFactory.getLogger(RedisSessions.class);
  /** How long one blocking read waits for news before checking that the session still exists. */
  static final Duration BLOCK = Duration.ofSeconds(1);
  private static final int READ_BATCH = 64;

  private final RedisStores stores;

  RedisSessions(RedisStores stores) {
    this.stores = stores;
  }

  static String streamKey(String id) {
    return "sluice:stream:{" + id + "}";
  }

  static String metaKey(String id) {
    return streamKey(id) + ":meta";
  }

  // ---- producer side ----------------------------------------------------------------------------

  /** A replica of {@code session} in the store at {@code uri}. */
  StreamSession.Replica replica(String uri, StreamSession session, int maxEvents, Duration ttl) {
    Replica replica = new Replica(session.id(), maxEvents, ttl.toMillis());
    replica.run(c -> {
      c.hset(metaKey(session.id()), Map.of("owner", session.owner(), "route", session.route()));
      c.pexpire(metaKey(session.id()), ttl.toMillis());
    });
    stores.get(uri).commands().whenComplete((c, e) -> replica.connected(c, e));
    return replica;
  }

  /**
   * Writes in the producer's order: calls made before the shared connection is ready wait in a
   * queue (Lettuce then pipelines them in order on its one connection).
   */
  private static final class Replica implements StreamSession.Replica {
    private final String key;
    private final String meta;
    private final int maxEvents;
    private final long ttlMillis;
    private RedisAsyncCommands<String, String> commands;
    private List<Consumer<RedisAsyncCommands<String, String>>> pending = new ArrayList<>();
    private long lastSeq; // the producer's thread only

    Replica(String id, int maxEvents, long ttlMillis) {
      this.key = streamKey(id);
      this.meta = metaKey(id);
      this.maxEvents = maxEvents;
      this.ttlMillis = ttlMillis;
    }

    synchronized void connected(RedisAsyncCommands<String, String> c, Throwable failure) {
      if (failure != null) {
        log.debug("stream session {} is not replicated: {}", key, failure.toString());
        pending = null;
        return;
      }
      commands = c;
      pending.forEach(op -> op.accept(c));
      pending = null;
    }

    synchronized void run(Consumer<RedisAsyncCommands<String, String>> op) {
      if (commands != null) {
        op.accept(commands);
      } else if (pending != null) {
        pending.add(op);
      }
    }

    @Override
    public void appended(long seq, byte[] event) {
      String data = new String(event, StandardCharsets.UTF_8); // SSE is UTF-8 by definition
      lastSeq = seq;
      run(c -> {
        c.xadd(key, new XAddArgs().id(seq + "-0").maxlen(maxEvents), Map.of("data", data));
        renew(c);
      });
    }

    @Override
    public void lost(long seq) {
      lastSeq = seq;
      run(c -> {
        c.xadd(key, new XAddArgs().id(seq + "-0").maxlen(maxEvents), Map.of("lost", "1"));
        renew(c);
      });
    }

    @Override
    public void ended() {
      long seq = lastSeq; // the end marker sorts right after the last event: "<last>-1"
      run(c -> {
        c.xadd(key, new XAddArgs().id(seq + "-1").maxlen(maxEvents), Map.of("end", "1"));
        renew(c);
      });
    }

    private void renew(RedisAsyncCommands<String, String> c) {
      c.pexpire(key, ttlMillis);
      c.pexpire(meta, ttlMillis);
    }
  }

  // ---- resuming elsewhere -----------------------------------------------------------------------

  /**
   * A session another instance runs, as a local mirror that starts right after {@code after} and
   * follows the live stream while a client reads it; null when Redis does not know the session.
   * Completes exceptionally when Redis cannot answer. A position the stream never reached or
   * already trimmed is reported by the mirror itself ({@link StreamSession.Read.Unknown},
   * {@link StreamSession.Read.Gap}) as for a local session.
   */
  CompletionStage<StreamSession> open(String uri, String id, long after, int maxEvents, long maxBytes) {
    RedisStore store = stores.get(uri);
    String key = streamKey(id);
    return store.commands().thenCompose(c -> c.hgetall(metaKey(id)).thenCompose(meta -> {
      if (meta.isEmpty() || meta.get("owner") == null) {
        return CompletableFuture.completedFuture(null);
      }
      var first = c.xrange(key, Range.unbounded(), Limit.from(1)).toCompletableFuture();
      var last = c.xrevrange(key, Range.unbounded(), Limit.from(1)).toCompletableFuture();
      return first.thenCombine(last, (f, l) -> {
        long lastSeq = l.isEmpty() ? 0 : seqOf(l.get(0).getId());
        boolean ended = !l.isEmpty() && l.get(0).getBody().containsKey("end");
        long firstEvent = f.isEmpty() ? 1 : firstEventSeq(f.get(0));
        Follower follower = new Follower(store, key);
        // Beyond the end of an ended stream: the mirror says Unknown. Beyond the last event of a
        // running one: the client may have seen events still on their way to Redis; follow on.
        long start = ended && after > lastSeq ? lastSeq : after;
        StreamSession mirror = new StreamSession(id, meta.get("owner"), meta.get("route"), maxEvents, maxBytes,
            0, follower, start);
        if (after + 1 < firstEvent) {
          mirror.lost(firstEvent - 1); // the events the client wants were trimmed: a gap
        }
        follower.mirror = mirror;
        follower.cursor = Math.min(start, lastSeq) + "-0";
        return mirror;
      });
    }));
  }

  /** The seq of entry id {@code <seq>-<n>}. */
  static long seqOf(String entryId) {
    return Long.parseLong(entryId.substring(0, entryId.indexOf('-')));
  }

  /** The first event a stream still has, from its first entry (an end or lost marker has none). */
  private static long firstEventSeq(StreamMessage<String, String> entry) {
    long seq = seqOf(entry.getId());
    return entry.getBody().containsKey("data") ? seq : seq + 1;
  }

  /**
   * Fills a mirror from the Redis stream while a client reads it: {@code XREAD BLOCK} on a
   * connection of its own, from the mirror's first client on, until the end marker, the last
   * client leaving, or the stream vanishing.
   */
  private static final class Follower implements StreamSession.SessionListener {
    private final RedisStore store;
    private final String key;
    private StreamSession mirror;
    private String cursor;
    private boolean started;
    private volatile boolean stopped;
    private StatefulRedisConnection<String, String> connection;

    Follower(RedisStore store, String key) {
      this.store = store;
      this.key = key;
    }

    @Override
    public void grew(StreamSession session) {}

    @Override
    public void clientsChanged(StreamSession session, boolean anyClient) {
      if (!anyClient) {
        stop();
        return;
      }
      synchronized (this) {
        if (started || stopped) {
          return;
        }
        started = true;
      }
      store.dedicated(BLOCK.plus(Duration.ofSeconds(2))).whenComplete((conn, e) -> {
        if (e != null) {
          fail("the session store cannot be reached");
          return;
        }
        synchronized (this) {
          connection = conn;
        }
        if (stopped) {
          conn.closeAsync();
        } else {
          read();
        }
      });
    }

    private void read() {
      if (stopped || mirror.ended()) {
        stop();
        return;
      }
      connection.async().xread(XReadArgs.Builder.block(BLOCK).count(READ_BATCH), XReadArgs.StreamOffset.from(key, cursor))
          .whenComplete((messages, e) -> {
            if (e != null) {
              fail("the session store failed: " + e.getMessage());
              return;
            }
            if (messages.isEmpty()) {
              connection.async().exists(key).whenComplete((n, e2) -> {
                if (e2 != null || n == 0) {
                  fail("the stream's session expired in the session store");
                } else {
                  read();
                }
              });
              return;
            }
            for (StreamMessage<String, String> m : messages) {
              cursor = m.getId();
              long seq = seqOf(m.getId());
              Map<String, String> body = m.getBody();
              if (body.containsKey("end")) {
                mirror.end();
              } else if (body.containsKey("lost")) {
                mirror.lost(seq);
              } else if (seq > mirror.lastSeq()) { // events the client already has are skipped
                if (seq > mirror.lastSeq() + 1) {
                  mirror.lost(seq - 1); // trimmed before we read them: the reader gets a gap
                }
                mirror.append(seq, body.getOrDefault("data", "").getBytes(StandardCharsets.UTF_8));
              }
            }
            read();
          });
    }

    /** Ends the mirror with an error event (unnumbered: the client may resume again from its last id). */
    private void fail(String message) {
      if (!stopped && !mirror.ended()) {
        mirror.append(mirror.lastSeq() + 1, GatewayErrors.sseEventBytes(ErrorKind.UPSTREAM_FAILED, message));
        mirror.end();
      }
      stop();
    }

    private void stop() {
      StatefulRedisConnection<String, String> c;
      synchronized (this) {
        stopped = true;
        c = connection;
        connection = null;
      }
      if (c != null) {
        c.closeAsync();
      }
    }
  }
}
