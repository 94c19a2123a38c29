package io.sluice.plugins.jwt;

import java.security.Key;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * jwt-auth's validated settings for one route.
 *
 * @param issuer the required {@code iss}, or null for any
 * @param audiences {@code aud} must contain one of these; empty for any
 * @param allow the consumers admitted; empty for any
 * @param staticKeys secrets and PEM keys, in config order
 * @param jwks JWKS URLs, in config order
 */
record JwtAuthSettings(
    String issuer,
    List<String> audiences,
    String consumerClaim,
    boolean allowUndeclared,
    Duration clockSkew,
    Set<String> allow,
    List<StaticKey> staticKeys,
    List<JwksSource> jwks) {

  JwtAuthSettings {
    audiences = List.copyOf(audiences);
    allow = Set.copyOf(allow);
    staticKeys = List.copyOf(staticKeys);
    jwks = List.copyOf(jwks);
  }

  /**
   * A key read at load time: an HMAC secret or a PEM public key.
   *
   * @param kid the {@code kid} it answers to, or null (then it is tried for any token of a fitting
   *     algorithm)
   * @param algorithms the algorithms it may verify (already matched to the key's type)
   */
  record StaticKey(String kid, Key key, Set<JwtAlgorithm> algorithms) {
    StaticKey {
      algorithms = Set.copyOf(algorithms);
    }

    @Override
    public String toString() {
      return "StaticKey[kid=" + kid + ", algorithms=" + algorithms + "]"; // never the key material
    }
  }

  /** A JWKS URL and how often its key set is refreshed. */
  record JwksSource(String uri, Duration refresh) {}
}
