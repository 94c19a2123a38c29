package io.sluice.plugins.keyauth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.config.ConsumerConfig;
import io.sluice.config.Secret;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * {@code key-auth} on one route: finds the request's API key, names its consumer, and strips the
 * key so the upstream never sees it.
 *
 * <p>Where the key comes from, first match wins: {@code Authorization: Bearer <key>}, else the
 * {@code x-api-key} header, else the {@code api_key} query parameter. The {@code x-api-key}
 * header and the {@code api_key} parameter are always removed (whatever the outcome, so a request
 * another AUTHN plugin lets through does not carry them upstream either); {@code Authorization}
 * is removed only when the key was taken from it and accepted — when key-auth refuses it, the
 * header may be a JWT that {@code jwt-auth} still has to read.
 *
 * <p>Constant time: keys are indexed by their SHA-256 digest, so the lookup never compares the
 * secret itself character by character; a hit is confirmed with {@link MessageDigest#isEqual}
 * (a constant-time compare) on the raw bytes.
 *
 * <p>Metrics: a refusal is counted in {@code sluice_auth_failures_total} only once the response
 * is decided and the request is still anonymous, so a request that {@code jwt-auth} accepts after
 * key-auth found no key is not counted as a key-auth failure. The pending reason is held in a
 * weak-keyed map, so a request whose hooks never run costs nothing once it is gone.
 *
 * <p>Threading: the key index is immutable after construction; the pending-failure map is a
 * concurrent Caffeine cache; a {@link MessageDigest} is made per call (they are not thread-safe).
 */
final class KeyAuthPlugin implements Plugin {
  static final String REALM = "Bearer realm=\"sluice\"";
  static final String REALM_INVALID = "Bearer realm=\"sluice\", error=\"invalid_token\"";
  static final String MISSING_CREDENTIALS = "missing_credentials";
  static final String INVALID_API_KEY = "invalid_api_key";
  static final String CONSUMER_NOT_ALLOWED = "consumer_not_allowed";

  /** One API key: its bytes, for the final constant-time compare, and whose it is. */
  private record Key(byte[] bytes, String consumer) {}

  private final Map<String, Key> byDigest;
  private final Set<String> allow;
  private final PluginServices services;
  private final Cache<RequestContext, String> pendingFailures =
      Caffeine.newBuilder().weakKeys().executor(Runnable::run).build();

  KeyAuthPlugin(KeyAuthSettings settings, PluginServices services) {
    this.allow = settings.allow();
    this.services = services;
    Map<String, Key> index = new HashMap<>();
    for (ConsumerConfig c : services.consumers()) {
      for (Secret s : c.apiKeys()) {
        byte[] bytes = s.reveal().getBytes(StandardCharsets.UTF_8);
        index.put(digest(bytes), new Key(bytes, c.name()));
      }
    }
    this.byDigest = Map.copyOf(index);
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    String key = null;
    boolean fromAuthorization = false;
    String authorization = request.header("Authorization");
    if (authorization != null) {
      key = bearer(authorization);
      fromAuthorization = key != null;
    }
    String headerKey = request.header("x-api-key");
    if (headerKey != null) {
      if (key == null && !headerKey.isBlank()) {
        key = headerKey.trim();
      }
      request.removeRequestHeader("x-api-key");
    }
    String queryKey = request.queryParam("api_key");
    if (queryKey != null) {
      if (key == null && !queryKey.isEmpty()) {
        key = queryKey;
      }
      request.removeQueryParam("api_key");
    }

    if (key == null) {
      return refuse(request, MISSING_CREDENTIALS, Decision.reject(401, "authentication_error",
          MISSING_CREDENTIALS,
          "an API key is required (Authorization: Bearer, the x-api-key header or the api_key query parameter)",
          Map.of("WWW-Authenticate", REALM)));
    }
    String consumer = lookup(key);
    if (consumer == null) {
      return refuse(request, INVALID_API_KEY, Decision.reject(401, "authentication_error", INVALID_API_KEY,
          "the API key is not valid", Map.of("WWW-Authenticate", REALM_INVALID)));
    }
    if (!allow.isEmpty() && !allow.contains(consumer)) {
      return refuse(request, CONSUMER_NOT_ALLOWED, Decision.reject(403, "permission_error", CONSUMER_NOT_ALLOWED,
          "consumer '" + consumer + "' may not use this route"));
    }
    if (fromAuthorization) {
      request.removeRequestHeader("Authorization");
    }
    request.consumer(consumer);
    return Decision.proceed();
  }

  @Override
  public void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {
    countFailure(request);
  }

  @Override
  public void onComplete(RequestContext request, ExchangeSummary summary) {
    countFailure(request); // the client may have gone before a response was sent
  }

  private CompletionStage<Decision> refuse(RequestContext request, String reason, CompletionStage<Decision> d) {
    pendingFailures.put(request, reason);
    return d;
  }

  /** Counts key-auth's refusal of this request unless another AUTHN plugin accepted it. */
  private void countFailure(RequestContext request) {
    String reason = pendingFailures.asMap().remove(request);
    if (reason != null && request.consumer() == null) {
      services.authFailure(request.route(), KeyAuthFactory.NAME, reason);
    }
  }

  /** The consumer whose key this is, or null. */
  private String lookup(String presented) {
    byte[] bytes = presented.getBytes(StandardCharsets.UTF_8);
    Key k = byDigest.get(digest(bytes));
    return k != null && MessageDigest.isEqual(k.bytes(), bytes) ? k.consumer() : null;
  }

  /** The token of {@code Bearer <token>} (scheme case-insensitive), or null for other schemes or no token. */
  static String bearer(String authorization) {
    String v = authorization.trim();
    if (v.length() < 7 || !v.regionMatches(true, 0, "Bearer", 0, 6) || !Character.isWhitespace(v.charAt(6))) {
      return null;
    }
    String token = v.substring(7).trim();
    return token.isEmpty() ? null : token;
  }

  private static String digest(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
