package io.sluice.plugins.jwt;

import java.io.ByteArrayInputStream;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a PEM public key: {@code -----BEGIN PUBLIC KEY-----} (X.509 SubjectPublicKeyInfo, RSA, EC,
 * Ed25519 or Ed448) or {@code -----BEGIN CERTIFICATE-----} (the certificate's key).
 */
final class PemKeys {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
  private static final List<String> KEY_FACTORIES = List.of("RSA", "EC", "EdDSA");

  private PemKeys() {}

  /**
   * @throws IllegalArgumentException whose message completes "file X …" ("is not a PEM public key …");
   *     it never quotes the text
   */
  static PublicKey parse(String pem) {
    Matcher m = BLOCK.matcher(pem);
    if (!m.find()) {
      throw new IllegalArgumentException("is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    }
    String type = m.group(1);
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(2));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not valid PEM (the block is not base64)");
    }
    switch (type) {
      case "PUBLIC KEY" -> {
        X509EncodedKeySpec spec = new X509EncodedKeySpec(der);
        for (String algorithm : KEY_FACTORIES) {
          try {
            return KeyFactory.getInstance(algorithm).generatePublic(spec);
          } catch (InvalidKeySpecException | NoSuchAlgorithmException e) {
            // not this kind of key: try the next one
          }
        }
        throw new IllegalArgumentException("is not an RSA, EC or EdDSA public key");
      }
      case "CERTIFICATE" -> {
        try {
          return CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
        } catch (CertificateException e) {
          throw new IllegalArgumentException("is not a valid X.509 certificate");
        }
      }
      default -> {
        if (type.contains("PRIVATE")) {
          throw new IllegalArgumentException(
              "holds a private key (" + type + "); give the public key (-----BEGIN PUBLIC KEY-----)");
        }
        throw new IllegalArgumentException(
            "holds a " + type + " block (expected -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)");
      }
    }
  }
}
