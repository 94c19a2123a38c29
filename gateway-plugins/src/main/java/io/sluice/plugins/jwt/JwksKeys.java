package io.sluice.plugins.jwt;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.jsonwebtoken.JwtParser;
import io.jsonwebtoken.security.Jwk;
import io.jsonwebtoken.security.JwkSet;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.PublicJwk;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.jwt.JwtAuthSettings.JwksSource;
import java.security.Key;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key set of one JWKS URL, fetched through core's HTTP client and kept in a one-entry
 * Caffeine cache.
 *
 * <p>Refresh: the set is refreshed {@code refresh} after it was fetched, on the first lookup after
 * that (Caffeine's refresh-after-write: the lookup gets the current keys at once, the refresh runs
 * in the background). A token whose {@code kid} is not in the set triggers one refetch, at most
 * once every {@link #MIN_KID_REFETCH} — so a flood of made-up kids cannot flood the identity
 * provider — and lookups for unknown kids while that refetch runs all wait for it.
 *
 * <p>Threading: lookups never block. A lookup before the first fetch completed, or one waiting
 * for an unknown-kid refetch, returns an incomplete stage that completes on the HTTP client's
 * thread; the plugin chain hops back to the event loop. Concurrent lookups share one fetch.
 *
 * <p>Failure: a failed refresh keeps the keys already fetched (an identity provider outage does
 * not lock everybody out). A failed first fetch leaves no keys, so tokens are refused with 401
 * until a fetch succeeds; the next request retries, but not sooner than {@link #RETRY_AFTER_FAILURE}
 * after the failure.
 */
final class JwksKeys {
  private static final Logger log = LoggerFactory.getLogger(JwksKeys.class);
  static final Duration MIN_KID_REFETCH = Duration.ofSeconds(30);
  static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(5);
  static final Duration FETCH_TIMEOUT = Duration.ofSeconds(5);

  /** The keys of one fetched JWKS document. */
  record KeySet(List<Candidate> keys) {
    static final KeySet EMPTY = new KeySet(List.of());

    KeySet {
      keys = List.copyOf(keys);
    }

    boolean hasKid(String kid) {
      return keys.stream().anyMatch(k -> kid.equals(k.kid()));
    }

    List<Candidate> matching(TokenHeader header) {
      return keys.stream().filter(k -> k.accepts(header, true)).toList();
    }
  }

  private final String uri;
  private final PluginServices services;
  private final LongSupplier nanoTime;
  private final Function<Key, JwtParser> parsers;
  private final AsyncLoadingCache<String, KeySet> cache;
  private final Object lock = new Object();
  private boolean kidRefetched;
  private long lastKidRefetch;
  private CompletableFuture<KeySet> kidRefetch;
  private volatile long lastFailure;
  private volatile boolean failedOnce;
  private volatile boolean hasKeys;

  JwksKeys(JwksSource source, PluginServices services, Function<Key, JwtParser> parsers) {
    this.uri = source.uri();
    this.services = services;
    this.nanoTime = services.nanoTime();
    this.parsers = parsers;
    this.cache = Caffeine.newBuilder()
        .ticker(nanoTime::getAsLong)
        .executor(Runnable::run) // the loader only starts an async fetch: nothing to hand off
        .refreshAfterWrite(source.refresh())
        .buildAsync((key, executor) -> fetch());
  }

  String uri() {
    return uri;
  }

  /** The keys that may verify a token with this header; empty when there are none (yet). */
  CompletionStage<List<Candidate>> find(TokenHeader header) {
    if (!hasKeys && failedOnce && nanoTime.getAsLong() - lastFailure < RETRY_AFTER_FAILURE.toNanos()) {
      return CompletableFuture.completedFuture(List.of()); // the first fetch failed just now: no retry storm
    }
    return cache.get(uri).handle((set, err) -> set) // a failed fetch was logged where it failed
        .thenCompose(set -> {
          if (set == null) {
            return CompletableFuture.completedFuture(List.<Candidate>of());
          }
          List<Candidate> match = set.matching(header);
          if (!match.isEmpty() || header.kid() == null || set.hasKid(header.kid())) {
            return CompletableFuture.completedFuture(match);
          }
          CompletableFuture<KeySet> refetch = refetchForUnknownKid();
          if (refetch == null) {
            return CompletableFuture.completedFuture(match);
          }
          return refetch.handle((fresh, err) -> fresh == null ? List.<Candidate>of() : fresh.matching(header));
        });
  }

  /** The running refetch, a new one when the last started at least 30 s ago, else null. */
  private CompletableFuture<KeySet> refetchForUnknownKid() {
    synchronized (lock) {
      if (kidRefetch != null && !kidRefetch.isDone()) {
        return kidRefetch;
      }
      long now = nanoTime.getAsLong();
      if (kidRefetched && now - lastKidRefetch < MIN_KID_REFETCH.toNanos()) {
        return null;
      }
      kidRefetched = true;
      lastKidRefetch = now;
      kidRefetch = cache.synchronous().refresh(uri);
      return kidRefetch;
    }
  }

  private CompletableFuture<KeySet> fetch() {
    CompletableFuture<KeySet> out = new CompletableFuture<>();
    CompletionStage<String> body;
    try {
      body = services.fetch(uri, FETCH_TIMEOUT);
    } catch (RuntimeException e) {
      body = CompletableFuture.failedFuture(e);
    }
    body.whenComplete((json, err) -> {
      if (err == null) {
        try {
          KeySet set = parse(json);
          failedOnce = false;
          hasKeys = true;
          out.complete(set);
          return;
        } catch (RuntimeException e) {
          err = e;
        }
      }
      failedOnce = true;
      lastFailure = nanoTime.getAsLong();
      log.warn("jwt-auth: cannot fetch the JWKS at {}: {}", uri, describe(err));
      out.completeExceptionally(err);
    });
    return out;
  }

  private KeySet parse(String json) {
    JwkSet set = Jwks.setParser().ignoreUnsupported(true).build().parse(json);
    List<Candidate> keys = new ArrayList<>();
    for (Jwk<?> jwk : set.getKeys()) {
      if (!(jwk instanceof PublicJwk<?> pub)) {
        continue; // secrets do not belong in a published key set
      }
      Object use = jwk.get("use");
      if (use != null && !"sig".equals(use)) {
        continue;
      }
      Key key = pub.toKey();
      Set<JwtAlgorithm> algorithms;
      if (jwk.getAlgorithm() != null) {
        JwtAlgorithm alg = JwtAlgorithm.of(jwk.getAlgorithm());
        if (alg == null || !alg.fits(key)) {
          continue;
        }
        algorithms = EnumSet.of(alg);
      } else {
        List<JwtAlgorithm> fitting = JwtAlgorithm.fitting(key);
        if (fitting.isEmpty()) {
          continue;
        }
        algorithms = EnumSet.copyOf(fitting);
      }
      keys.add(new Candidate(jwk.getId(), key, algorithms, parsers.apply(key)));
    }
    if (keys.isEmpty()) {
      log.warn("jwt-auth: the JWKS at {} holds no usable signing key", uri);
    }
    return new KeySet(keys);
  }

  private static String describe(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }
}
