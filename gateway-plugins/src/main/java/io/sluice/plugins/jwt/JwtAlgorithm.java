package io.sluice.plugins.jwt;

import java.security.Key;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.List;
import javax.crypto.SecretKey;

/**
 * The JWS algorithms jwt-auth verifies, and which kind of key each one needs.
 *
 * <p>Matching the key type to the algorithm family <em>before</em> verifying is what defeats
 * algorithm confusion: an {@code HS256} token is only ever checked against a configured secret,
 * never against the bytes of an RSA or EC public key, and {@code none} is not in this list at all.
 */
enum JwtAlgorithm {
  HS256(Family.HMAC, 256),
  HS384(Family.HMAC, 384),
  HS512(Family.HMAC, 512),
  RS256(Family.RSA, 0),
  RS384(Family.RSA, 0),
  RS512(Family.RSA, 0),
  PS256(Family.RSA, 0),
  PS384(Family.RSA, 0),
  PS512(Family.RSA, 0),
  ES256(Family.EC, 256),
  ES384(Family.EC, 384),
  ES512(Family.EC, 521),
  EdDSA(Family.EDDSA, 0);

  /** The kind of key an algorithm verifies with. */
  enum Family {
    HMAC,
    RSA,
    EC,
    EDDSA
  }

  private final Family family;
  /** HMAC: the minimum secret size in bits; EC: the curve's field size in bits. */
  private final int bits;

  JwtAlgorithm(Family family, int bits) {
    this.family = family;
    this.bits = bits;
  }

  Family family() {
    return family;
  }

  /** HMAC: the minimum secret length in bytes (RFC 7518 §3.2: at least the hash size). */
  int minSecretBytes() {
    return bits / 8;
  }

  /** The JCA name of an HMAC algorithm ({@code HmacSHA256}). */
  String hmacJcaName() {
    return "HmacSHA" + name().substring(2);
  }

  /** The algorithm named in a token header or the config, or null when it is not one of ours. */
  static JwtAlgorithm of(String name) {
    if (name == null) {
      return null;
    }
    for (JwtAlgorithm a : values()) {
      if (a.name().equals(name)) {
        return a;
      }
    }
    return null;
  }

  /** Whether {@code key} is the right kind of key for this algorithm. */
  boolean fits(Key key) {
    return switch (family) {
      case HMAC -> key instanceof SecretKey;
      case RSA -> key instanceof RSAPublicKey;
      case EC -> key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == bits;
      case EDDSA -> key instanceof EdECPublicKey;
    };
  }

  /** The algorithms a public key can verify (empty for a key of no supported kind). */
  static List<JwtAlgorithm> fitting(Key key) {
    return Arrays.stream(values()).filter(a -> a.family != Family.HMAC && a.fits(key)).toList();
  }

  static List<JwtAlgorithm> hmac() {
    return List.of(HS256, HS384, HS512);
  }

  /** How a key is named in messages: {@code an RSA key}, {@code an EC P-256 key}. */
  static String describe(Key key) {
    if (key instanceof RSAPublicKey) {
      return "an RSA key";
    }
    if (key instanceof ECPublicKey ec) {
      int size = ec.getParams().getCurve().getField().getFieldSize();
      return "an EC key of " + size + " bits";
    }
    if (key instanceof EdECPublicKey ed) {
      return "an " + ed.getParams().getName() + " key";
    }
    return "a " + key.getAlgorithm() + " key";
  }
}
