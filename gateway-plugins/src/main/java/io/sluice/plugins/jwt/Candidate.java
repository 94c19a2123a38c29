package io.sluice.plugins.jwt;

import io.jsonwebtoken.JwtParser;
import java.security.Key;
import java.util.Set;

/**
 * One key jwt-auth may verify a token with, and the JJWT parser built for it once (parsers are
 * immutable and thread-safe).
 *
 * @param kid the {@code kid} it answers to, or null
 * @param algorithms the algorithms it may verify; a token's {@code alg} must be one of them
 */
record Candidate(String kid, Key key, Set<JwtAlgorithm> algorithms, JwtParser parser) {
  Candidate {
    algorithms = Set.copyOf(algorithms);
  }

  /** Whether this key may verify a token with this header (alg fits; kid matches when both have one). */
  boolean accepts(TokenHeader header, boolean kidMustMatch) {
    if (!algorithms.contains(header.alg()) || !header.alg().fits(key)) {
      return false;
    }
    if (header.kid() == null || kid == null) {
      return !kidMustMatch || header.kid() == null;
    }
    return kid.equals(header.kid());
  }

  @Override
  public String toString() {
    return "Candidate[kid=" + kid + ", algorithms=" + algorithms + "]";
  }
}
