package io.sluice.session;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.store.RedisStores;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * The stream sessions of this gateway instance (resume, long polling), kept across config
 * reloads: a stream started before a reload stays resumable after it.
 *
 * <p>Caffeine holds them with a variable expiry: a session with a client attached or polling
 * never expires; one without expires {@code ttl} after its last client left — stopping its
 * generation if it still runs. A global memory cap ({@code limits.max-session-memory}, over the
 * bytes of every session's buffered events, counted exactly on every event) pushes sessions out
 * in the order they would expire: abandoned ones first, the longest abandoned first, and only
 * then sessions a client is reading. (Caffeine's own size eviction is not used: its admission
 * policy rejects the newest entry first — a live stream that just started.) Sessions pushed
 * out by the cap are counted in {@code sluice_stream_sessions_evicted_total{cause="size"}},
 * expired ones with {@code cause="expired"}.
 *
 * <p>Threading: any thread. Removal runs on Caffeine's executor; {@link StreamSession} hops to
 * the owning loops from there.
 */
public final class StreamSessions implements StreamSession.SessionListener {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();
  /** "Never", for sessions a client is reading (Caffeine caps durations at ~150 years). */
  private static final long PINNED = Duration.ofDays(365).toNanos();

  private final Cache<String, StreamSession> cache;
  private final GatewayMetrics metrics;
  private final RedisSessions redis;
  private final AtomicLong bytes = new AtomicLong();
  private volatile long maxBytes;
  private final Object evicting = new Object();

  /**
   * @param maxBytes the memory cap over every session's buffered events
   * @param redis the gateway's Redis connections, for sessions shared through Redis
   */
  public StreamSessions(long maxBytes, GatewayMetrics metrics, RedisStores redis) {
    this(maxBytes, metrics, redis, Ticker.systemTicker(), Scheduler.systemScheduler(), ForkJoinPool.commonPool());
  }

  /** With an injected clock, scheduler and executor (tests). */
  StreamSessions(long maxBytes, GatewayMetrics metrics, RedisStores redis, Ticker ticker, Scheduler scheduler,
      Executor executor) {
    this.metrics = metrics;
    this.maxBytes = maxBytes;
    this.redis = redis == null ? null : new RedisSessions(redis);
    this.cache = Caffeine.newBuilder()
        .ticker(ticker)
        .executor(executor)
        .expireAfter(new Expiry<String, StreamSession>() {
          @Override
          public long expireAfterCreate(String id, StreamSession s, long now) {
            return s.hasClient() ? PINNED : s.ttlNanos();
          }

          @Override
          public long expireAfterUpdate(String id, StreamSession s, long now, long current) {
            return expireAfterCreate(id, s, now);
          }

          @Override
          public long expireAfterRead(String id, StreamSession s, long now, long current) {
            return current;
          }
        })
        .scheduler(scheduler)
        .removalListener((String id, StreamSession s, RemovalCause cause) -> {
          if (s == null || cause == RemovalCause.REPLACED) {
            return;
          }
          if (cause == RemovalCause.EXPIRED) {
            metrics.streamSessionRemoved(s.route(), "expired");
          }
          s.removed(cause == RemovalCause.EXPIRED ? ErrorKind.STREAM_EVICTED : s.removalKind());
          bytes.addAndGet(s.recount());
        })
        .build();
    metrics.streamSessionGauges(cache::estimatedSize, bytes::get);
  }

  /**
   * A new session with a fresh unguessable id (128 random bits, hex), held until {@code ttl}
   * after its last client left.
   */
  public StreamSession create(String owner, String route, int maxEvents, long maxBytes, Duration ttl) {
    return create(owner, route, maxEvents, maxBytes, ttl, null);
  }

  /** The same, also written to the Redis at {@code sharedStore} (null: this instance only). */
  public StreamSession create(String owner, String route, int maxEvents, long maxBytes, Duration ttl,
      String sharedStore) {
    byte[] random = new byte[16];
    RANDOM.nextBytes(random);
    StreamSession session = new StreamSession(HEX.formatHex(random), owner, route, maxEvents, maxBytes,
        ttl.toNanos(), this);
    if (sharedStore != null && redis != null) {
      session.replicate(redis.replica(sharedStore, session, maxEvents, ttl));
    }
    cache.put(session.id(), session);
    return session;
  }

  /**
   * A session another gateway instance runs, read from the Redis at {@code sharedStore}: a mirror
   * that follows it from {@code after} while a client reads it. Null when Redis does not know it.
   */
  public CompletionStage<StreamSession> openShared(String sharedStore, String id, long after, int maxEvents,
      long maxBytes) {
    if (redis == null) {
      return CompletableFuture.completedFuture(null);
    }
    return redis.open(sharedStore, id, after, maxEvents, maxBytes);
  }

  /** The session, or null when unknown, expired or evicted. */
  public StreamSession get(String id) {
    return cache.getIfPresent(id);
  }

  /** Removes a session (its owner stopped it): a running generation is stopped. */
  public void remove(StreamSession session) {
    session.removalKind(ErrorKind.STREAM_CANCELLED);
    cache.asMap().remove(session.id(), session);
  }

  /** A new memory cap (a config reload). */
  public void maxBytes(long maxBytes) {
    this.maxBytes = maxBytes;
    enforceCap();
  }

  /**
   * Pushes sessions out, soonest-to-expire first, until the buffered bytes fit the cap again.
   * Serialised: concurrent producers would otherwise pick the same victims.
   */
  private void enforceCap() {
    if (bytes.get() <= maxBytes) {
      return;
    }
    var expiry = cache.policy().expireVariably().orElseThrow();
    synchronized (evicting) {
      while (bytes.get() > maxBytes) {
        Map<String, StreamSession> victims = expiry.oldest(16);
        if (victims.isEmpty()) {
          return;
        }
        for (StreamSession victim : victims.values()) {
          if (bytes.get() <= maxBytes) {
            return;
          }
          victim.removalKind(ErrorKind.STREAM_EVICTED);
          if (cache.asMap().remove(victim.id(), victim)) {
            metrics.streamSessionRemoved(victim.route(), "size");
            victim.removed(ErrorKind.STREAM_EVICTED); // now, not when the listener runs: the count must drop
            bytes.addAndGet(victim.recount());
          }
        }
      }
    }
  }

  /** Sessions held now (tests, metrics). */
  public long size() {
    cleanUp();
    return cache.estimatedSize();
  }

  /** The bytes the store counts against its cap (tests, metrics). */
  public long weightedBytes() {
    cleanUp();
    return bytes.get();
  }

  /** Runs pending evictions and expiries now (tests). */
  public void cleanUp() {
    cache.cleanUp();
  }

  /**
   * Removes every session (the gateway exits): generations still running end with
   * {@code event: error} {@code draining}, which a reader elsewhere (Redis) gets too.
   */
  public void clear() {
    cache.asMap().values().forEach(s -> s.removalKind(ErrorKind.DRAINING));
    cache.invalidateAll();
  }

  // ---- the sessions tell the store --------------------------------------------------------------

  @Override
  public void grew(StreamSession session) {
    bytes.addAndGet(session.recount());
    enforceCap();
  }

  @Override
  public void clientsChanged(StreamSession session, boolean anyClient) {
    // Re-evaluates the expiry: pinned while read, ttl from now once not.
    cache.asMap().replace(session.id(), session, session);
  }
}
