package io.sluice.plugins.jwt;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.jsonwebtoken.Claims;
import io.jsonwebtoken.ExpiredJwtException;
import io.jsonwebtoken.JwtException;
import io.jsonwebtoken.JwtParser;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.PrematureJwtException;
import io.jsonwebtoken.security.InvalidKeyException;
import io.jsonwebtoken.security.SignatureException;
import io.sluice.config.ConsumerConfig;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.jwt.JwtAuthSettings.StaticKey;
import java.security.Key;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.crypto.SecretKey;

/**
 * jwt-auth on one route: finds the token, picks the keys that may have signed it, verifies it
 * with JJWT, then names the consumer.
 *
 * <p>Order of checks: token present → header readable and {@code alg} supported (never
 * {@code none}) → keys whose type fits the {@code alg} (static keys first, then JWKS keys, fetched
 * when needed) → signature, {@code exp}/{@code nbf} with clock skew (JJWT, on the gateway's clock)
 * → {@code iss} → {@code aud} → consumer claim → declared consumer → allow list.
 *
 * <p>Threading: one instance serves every request of its route on every event loop; it holds
 * only immutable state and the thread-safe {@link JwksKeys}. A request whose keys are already
 * known is decided synchronously; one that waits for a JWKS fetch gets an incomplete stage, and
 * the part that touches the request (naming the consumer, removing the token) runs back on the
 * request's event loop ({@link RequestContext#executor()}).
 */
final class JwtAuthPlugin implements Plugin {
  private static final String BEARER_INVALID = "Bearer error=\"invalid_token\"";
  private static final String BEARER_REALM = "Bearer realm=\"sluice\"";
  private static final String AUTH_ERROR = "authentication_error";

  private final JwtAuthSettings settings;
  private final PluginServices services;
  private final List<Candidate> staticKeys = new ArrayList<>();
  private final List<JwksKeys> jwks = new ArrayList<>();
  private final Map<String, String> consumersByClaim = new HashMap<>();

  /**
   * Tokens whose signature verified in the last {@link #VERIFIED_TTL}, with their claims: a client
   * sends the same token on every request, and checking an RS256 signature costs ~0.1 ms of the
   * event loop (bench/jmh PluginChainBenchmark) — the largest part of the plugin chain. Keyed by
   * the whole token, signature included, so only the very same bytes hit. {@code exp}/{@code nbf}
   * are checked again on every hit (on the gateway's clock); issuer, audience and consumer run as
   * usual. The TTL bounds how long a token verified by a key that has since been removed from a
   * JWKS is still accepted; a reload builds a new plugin and an empty cache. Bounded by the tokens'
   * total size.
   */
  private final Cache<String, Claims> verified;
  private static final Duration VERIFIED_TTL = Duration.ofSeconds(30);
  private static final long VERIFIED_MAX_CHARS = 8L * 1024 * 1024;

  JwtAuthPlugin(JwtAuthSettings settings, PluginServices services) {
    this.settings = settings;
    this.services = services;
    this.verified = Caffeine.newBuilder()
        .expireAfterWrite(VERIFIED_TTL)
        .maximumWeight(VERIFIED_MAX_CHARS)
        .weigher((String token, Claims claims) -> token.length())
        .ticker(() -> services.clock().millis() * 1_000_000L)
        .executor(Runnable::run) // evictions inline: no ForkJoinPool task per request
        .build();
    for (StaticKey k : settings.staticKeys()) {
      staticKeys.add(new Candidate(k.kid(), k.key(), k.algorithms(), parser(k.key())));
    }
    settings.jwks().forEach(s -> jwks.add(new JwksKeys(s, services, this::parser)));
    for (ConsumerConfig c : services.consumers()) {
      if (c.jwtClaimValue() != null) {
        consumersByClaim.put(c.jwtClaimValue(), c.name());
      }
    }
  }

  private JwtParser parser(Key key) {
    var b = Jwts.parser()
        .clock(() -> Date.from(services.clock().instant()))
        .clockSkewSeconds(settings.clockSkew().toSeconds());
    if (key instanceof SecretKey secret) {
      b.verifyWith(secret);
    } else {
      b.verifyWith((PublicKey) key);
    }
    return b.build();
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    Token token = token(request);
    if (token == null) {
      return refuse(request, 401, "missing_credentials",
          "a JWT is required (Authorization: Bearer <token>)", BEARER_REALM);
    }
    Claims known = verified.getIfPresent(token.value());
    if (known != null) {
      return finish(request, token, stillValid(known));
    }
    TokenHeader header;
    try {
      header = TokenHeader.parse(token.value());
    } catch (IllegalArgumentException e) {
      return invalid(request, e.getMessage());
    }
    if (header.alg() == null) {
      return invalid(request, "token algorithm '" + header.algName() + "' is not accepted");
    }
    Outcome outcome = remember(token,
        verify(token, header, staticKeys.stream().filter(k -> k.accepts(header, false)).toList()));
    if (outcome.decided() || jwks.isEmpty()) {
      return finish(request, token, outcome);
    }
    List<CompletableFuture<List<Candidate>>> lookups = new ArrayList<>();
    jwks.forEach(j -> lookups.add(j.find(header).toCompletableFuture()));
    Outcome fromStatic = outcome;
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new)).handle((ignored, err) -> {
      List<Candidate> keys = new ArrayList<>();
      for (CompletableFuture<List<Candidate>> l : lookups) {
        List<Candidate> found = l.getNow(null);
        if (l.isDone() && !l.isCompletedExceptionally() && found != null) {
          keys.addAll(found);
        }
      }
      Outcome o = remember(token, verify(token, header, keys));
      return o.decided() || !keys.isEmpty() ? o : fromStatic;
    }).thenComposeAsync(o -> finish(request, token, o), request.executor()); // back on the event loop
  }

  /** What verification found: claims, a definite refusal, or nothing that fits (yet). */
  private record Outcome(Claims claims, String refusal) {
    static final Outcome NO_KEY = new Outcome(null, "no configured key verifies this token");
    static final Outcome BAD_SIGNATURE = new Outcome(null, "token signature does not verify");

    boolean decided() {
      return claims != null || (refusal != null && this != NO_KEY && this != BAD_SIGNATURE);
    }
  }

  /** Tries each key: the first whose signature verifies decides. */
  private Outcome verify(Token token, TokenHeader header, List<Candidate> keys) {
    Outcome outcome = Outcome.NO_KEY;
    for (Candidate k : keys) {
      try {
        return new Outcome(k.parser().parseSignedClaims(token.value()).getPayload(), null);
      } catch (SignatureException | InvalidKeyException e) {
        outcome = Outcome.BAD_SIGNATURE; // not this key: try the next
      } catch (ExpiredJwtException e) {
        return new Outcome(null, "token expired");
      } catch (PrematureJwtException e) {
        return new Outcome(null, "token not valid yet (nbf)");
      } catch (JwtException | IllegalArgumentException e) {
        return new Outcome(null, "malformed token");
      }
    }
    return outcome;
  }

  /** A token whose signature verified goes into {@link #verified} (only then: a hit must not renew it). */
  private Outcome remember(Token token, Outcome outcome) {
    if (outcome.claims() != null) {
      verified.put(token.value(), outcome.claims());
    }
    return outcome;
  }

  /** A cached token's {@code exp}/{@code nbf} against the gateway's clock, with the clock skew. */
  private Outcome stillValid(Claims claims) {
    long now = services.clock().millis();
    long skew = settings.clockSkew().toMillis();
    Date exp = claims.getExpiration();
    if (exp != null && now - skew > exp.getTime()) { // as JJWT decides it
      return new Outcome(null, "token expired");
    }
    Date nbf = claims.getNotBefore();
    if (nbf != null && now + skew < nbf.getTime()) {
      return new Outcome(null, "token not valid yet (nbf)");
    }
    return new Outcome(claims, null);
  }

  private CompletionStage<Decision> finish(RequestContext request, Token token, Outcome outcome) {
    if (outcome.claims() == null) {
      return invalid(request, outcome.refusal());
    }
    Claims claims = outcome.claims();
    if (settings.issuer() != null && !settings.issuer().equals(claims.getIssuer())) {
      return invalid(request, "token issuer is not accepted");
    }
    if (!settings.audiences().isEmpty()) {
      Set<String> aud = claims.getAudience();
      if (aud == null || settings.audiences().stream().noneMatch(aud::contains)) {
        return invalid(request, "token audience is not accepted");
      }
    }
    Object claim = claims.get(settings.consumerClaim());
    if (!(claim instanceof String value) || value.isEmpty()) {
      return invalid(request, "token has no string '" + settings.consumerClaim() + "' claim");
    }
    String consumer = consumersByClaim.get(value);
    if (consumer == null) {
      if (!settings.allowUndeclared()) {
        return refuse(request, 401, "undeclared_consumer", "the token names no declared consumer", BEARER_INVALID);
      }
      consumer = value;
    }
    if (!settings.allow().isEmpty() && !settings.allow().contains(consumer)) {
      services.authFailure(request.route(), JwtAuthFactory.NAME, "consumer_not_allowed");
      return Decision.reject(403, "permission_error", "consumer_not_allowed",
          "consumer is not allowed on this route");
    }
    request.consumer(consumer);
    if (token.fromHeader()) {
      request.removeRequestHeader("Authorization");
    }
    if (request.isWebSocketUpgrade() && request.queryParam("access_token") != null) {
      request.removeQueryParam("access_token");
    }
    return Decision.proceed();
  }

  private CompletionStage<Decision> invalid(RequestContext request, String message) {
    return refuse(request, 401, "invalid_token", message, BEARER_INVALID);
  }

  private CompletionStage<Decision> refuse(RequestContext request, int status, String code, String message,
      String challenge) {
    services.authFailure(request.route(), JwtAuthFactory.NAME, code);
    return Decision.reject(status, AUTH_ERROR, code, message, Map.of("WWW-Authenticate", challenge));
  }

  /** The token and where it came from. */
  private record Token(String value, boolean fromHeader) {}

  /** {@code Authorization: Bearer <jwt>}; on WebSocket upgrades also {@code ?access_token=}. */
  private static Token token(RequestContext request) {
    String auth = request.header("Authorization");
    if (auth != null) {
      String trimmed = auth.strip();
      if (trimmed.length() > 7 && trimmed.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
        String value = trimmed.substring(7).strip();
        if (!value.isEmpty()) {
          return new Token(value, true);
        }
      }
    }
    if (request.isWebSocketUpgrade()) {
      String q = request.queryParam("access_token");
      if (q != null && !q.isEmpty()) {
        return new Token(q, false);
      }
    }
    return null;
  }
}
