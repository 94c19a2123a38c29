package io.sluice.plugins.jwt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Base64;

/**
 * The two header fields jwt-auth reads before it verifies anything: {@code alg} and {@code kid}.
 *
 * <p>Nothing in an unverified header is trusted beyond choosing which configured key to try: the
 * algorithm must still fit that key's type ({@link JwtAlgorithm#fits}), and JJWT then verifies the
 * signature over the very same header bytes.
 *
 * @param algName the {@code alg} as written (for messages)
 * @param alg the supported algorithm it names, or null ({@code none}, {@code RSA-OAEP}, …)
 * @param kid the {@code kid}, or null
 */
record TokenHeader(String algName, JwtAlgorithm alg, String kid) {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A header larger than this is not a JWS header we would ever accept. */
  private static final int MAX_HEADER_CHARS = 8192;

  /**
   * Reads a compact JWS's header.
   *
   * @throws IllegalArgumentException with a message for the client when the token is not a
   *     three-part JWS with a JSON-object header naming a string {@code alg}
   */
  static TokenHeader parse(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (first <= 0 || second < 0 || token.indexOf('.', second + 1) >= 0) {
      throw new IllegalArgumentException("malformed token (expected a signed JWT: header.payload.signature)");
    }
    if (first > MAX_HEADER_CHARS) {
      throw new IllegalArgumentException("malformed token (header too large)");
    }
    JsonNode header;
    try {
      header = JSON.readTree(Base64.getUrlDecoder().decode(token.substring(0, first)));
    } catch (IllegalArgumentException | IOException e) {
      throw new IllegalArgumentException("malformed token (the header is not base64url JSON)");
    }
    if (header == null || !header.isObject() || !header.path("alg").isTextual()) {
      throw new IllegalArgumentException("malformed token (the header names no alg)");
    }
    String algName = header.get("alg").textValue();
    JsonNode kid = header.get("kid");
    return new TokenHeader(algName, JwtAlgorithm.of(algName), kid != null && kid.isTextual() ? kid.textValue() : null);
  }
}
