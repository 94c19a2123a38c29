package io.sluice.plugins.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * {@code rate-limit} on one route: a token bucket of requests per key value and rule.
 *
 * <p>Design: each rule keeps its buckets in a Caffeine cache keyed by the request's value for the
 * rule's {@code limit-by} (the consumer, the client IP, a header, query parameter or cookie). A
 * request that has no value (anonymous, header absent or empty) uses the rule's one shared
 * bucket, so leaving the header out does not escape the limit. A request must be admitted by
 * every rule; when a later rule refuses, the tokens already taken from earlier rules are given
 * back. Response headers describe the most restrictive rule (fewest remaining requests).
 *
 * <p>Memory: a bucket idle for as long as it takes to refill completely is indistinguishable from
 * a new one, so entries expire after exactly that idle time ({@code expireAfterAccess}, at least
 * 1 s) and idle keys cost nothing. Each rule holds at most {@link #MAX_KEYS} keys (least recently
 * used evicted first; an evicted key starts again with a full bucket). Values longer than 64
 * characters are keyed by their SHA-256, so a client cannot make the cache hold large strings.
 * Time comes from {@link PluginServices#nanoTime()}, for the buckets and (as Caffeine's ticker)
 * for expiry alike, so tests move both by hand.
 *
 * <p>Threading: the plugin is shared by every event loop. Bucket creation is atomic
 * ({@code Cache.get} with a loader) and each bucket is one {@code AtomicLong} updated by
 * compare-and-set ({@link TokenBucket}); nothing blocks and nothing is locked across buckets.
 * With several rules the check-then-refund is not atomic across rules: two racing requests may
 * both be refused where one could have passed, never both admitted beyond a bucket's capacity.
 *
 * <p>Failure: none at run time; nothing here does I/O.
 */
final class RateLimitPlugin implements Plugin {
  /** Keys held per rule at most. */
  static final long MAX_KEYS = 100_000;
  private static final int MAX_RAW_KEY = 64;
  private static final long SECOND = 1_000_000_000L;
  /** Keeps {@code burst × interval} far from overflow (about 36 years). */
  private static final long MAX_NANOS = 1L << 60;

  private final List<Limiter> limiters;
  private final PluginServices services;
  private final LongSupplier nanoTime;

  RateLimitPlugin(RateLimitSettings settings, PluginServices services) {
    this.services = services;
    this.nanoTime = services.nanoTime();
    List<Limiter> list = new ArrayList<>();
    for (RateLimitSettings.Rule r : settings.rules()) {
      list.add(new Limiter(r, nanoTime));
    }
    this.limiters = List.copyOf(list);
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    long now = nanoTime.getAsLong();
    TokenBucket[] taken = new TokenBucket[limiters.size()];
    Limiter tightest = null;
    TokenBucket.Outcome tightestOutcome = null;
    for (int i = 0; i < limiters.size(); i++) {
      Limiter l = limiters.get(i);
      TokenBucket bucket = l.bucket(request, now);
      TokenBucket.Outcome o = bucket.take(now, l.interval, l.capacity);
      if (!o.admitted()) {
        for (int j = 0; j < i; j++) {
          taken[j].refund(limiters.get(j).interval);
        }
        addHeaders(request, l, o);
        services.rateLimitRejection(request.route(), RateLimitFactory.NAME);
        long retry = Math.max(1, ceilSeconds(o.retryAfterNanos()));
        return Decision.reject(429, "rate_limit_error", "request_rate_limited",
            "too many requests: the limit is " + l.rule.burst() + " at once and " + rate(l.rule)
                + " per second per " + l.rule.limitBy() + "; retry after " + retry + " s",
            Map.of("Retry-After", Long.toString(retry)));
      }
      taken[i] = bucket;
      if (tightestOutcome == null || o.remaining() < tightestOutcome.remaining()
          || (o.remaining() == tightestOutcome.remaining() && o.resetNanos() > tightestOutcome.resetNanos())) {
        tightest = l;
        tightestOutcome = o;
      }
    }
    if (tightest != null) {
      addHeaders(request, tightest, tightestOutcome);
    }
    return Decision.proceed();
  }

  private static void addHeaders(RequestContext request, Limiter l, TokenBucket.Outcome o) {
    request.addResponseHeader("x-ratelimit-limit-requests", Integer.toString(l.rule.burst()));
    request.addResponseHeader("x-ratelimit-remaining-requests", Long.toString(o.remaining()));
    request.addResponseHeader("x-ratelimit-reset-requests", Long.toString(ceilSeconds(o.resetNanos())));
  }

  private static long ceilSeconds(long nanos) {
    return nanos <= 0 ? 0 : (nanos - 1) / SECOND + 1;
  }

  private static String rate(RateLimitSettings.Rule r) {
    double v = r.requestsPerSecond();
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  /** Estimated number of keyed buckets held by rule {@code i} (tests). */
  long heldKeys(int i) {
    Cache<String, TokenBucket> c = limiters.get(i).buckets;
    c.cleanUp();
    return c.estimatedSize();
  }

  /** One rule with its buckets. */
  private static final class Limiter {
    final RateLimitSettings.Rule rule;
    /** Nanoseconds one request costs: 1 s / requests-per-second. */
    final long interval;
    /** Nanoseconds of credit a full bucket holds: burst × interval. */
    final long capacity;
    final Cache<String, TokenBucket> buckets;
    /** The bucket shared by every request without a value for this rule's key. */
    final TokenBucket shared;

    Limiter(RateLimitSettings.Rule rule, LongSupplier nanoTime) {
      this.rule = rule;
      this.interval = (long) Math.max(1, Math.min(MAX_NANOS, Math.rint(SECOND / rule.requestsPerSecond())));
      this.capacity = (long) Math.min(MAX_NANOS, (double) rule.burst() * interval);
      this.buckets = Caffeine.newBuilder()
          .ticker(nanoTime::getAsLong)
          .expireAfterAccess(Duration.ofNanos(Math.max(SECOND, capacity)))
          .maximumSize(MAX_KEYS)
          .build();
      this.shared = new TokenBucket(nanoTime.getAsLong());
    }

    TokenBucket bucket(RequestContext request, long now) {
      String value = rule.limitBy().valueOf(request);
      if (value == null || value.isEmpty()) {
        return shared;
      }
      String key = value.length() <= MAX_RAW_KEY ? "v:" + value : "h:" + sha256(value);
      return buckets.get(key, k -> new TokenBucket(now));
    }
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
