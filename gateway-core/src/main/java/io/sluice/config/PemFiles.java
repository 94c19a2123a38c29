package io.sluice.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.PSSParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and checks PEM certificates and PKCS#8 keys with the JDK alone, so that {@code --check}
 * and a reload refuse a broken pair with a clear reason before any TLS engine sees it.
 */
public final class PemFiles {
  private static final Pattern PRIVATE_KEY =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private PemFiles() {}

  /** A problem with a file, phrased for a config message. */
  public static final class PemException extends Exception {
    public PemException(String message) {
      super(message);
    }
  }

  /** The certificates of a PEM file, in file order (leaf first for a chain). */
  public static List<X509Certificate> certificates(Path file) throws PemException {
    byte[] bytes = read(file);
    if (!new String(bytes, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
      throw new PemException("no PEM certificate in " + file);
    }
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new PemException("no PEM certificate in " + file);
      }
      return out;
    } catch (CertificateException e) {
      throw new PemException("not a PEM certificate: " + file + " (" + e.getMessage() + ")");
    }
  }

  /** The PKCS#8 private key of a PEM file (RSA, EC or EdDSA). */
  public static PrivateKey privateKey(Path file) throws PemException {
    String text = new String(read(file), StandardCharsets.US_ASCII);
    Matcher m = PRIVATE_KEY.matcher(text);
    if (!m.find()) {
      if (text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY")) {
        throw new PemException("not a PKCS#8 key: " + file
            + " (convert it with: openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW)");
      }
      if (text.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
        throw new PemException("encrypted keys are not supported: " + file + " (store it unencrypted, readable only by the gateway)");
      }
      throw new PemException("no 'BEGIN PRIVATE KEY' block in " + file);
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(1).replaceAll("\\s", ""));
    } catch (IllegalArgumentException e) {
      throw new PemException("invalid base64 in " + file);
    }
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException ignored) {
        // try the next algorithm
      }
    }
    throw new PemException("unsupported or corrupt private key in " + file);
  }

  /**
   * Checks a server certificate chain and key: readable, the key matches the leaf certificate,
   * the leaf is valid now.
   *
   * @return the leaf certificate
   */
  public static X509Certificate checkPair(Path certificate, Path key, Instant now) throws PemException {
    X509Certificate leaf = certificates(certificate).get(0);
    PrivateKey privateKey = privateKey(key);
    if (!matches(privateKey, leaf.getPublicKey())) {
      throw new PemException("the private key " + key + " does not match the certificate " + certificate);
    }
    Date at = Date.from(now);
    if (at.after(leaf.getNotAfter())) {
      throw new PemException("the certificate " + certificate + " expired on " + leaf.getNotAfter().toInstant());
    }
    if (at.before(leaf.getNotBefore())) {
      throw new PemException("the certificate " + certificate + " is not valid before " + leaf.getNotBefore().toInstant());
    }
    return leaf;
  }

  /** Whether the key signs what the public key verifies. */
  static boolean matches(PrivateKey key, PublicKey publicKey) {
    String algorithm = switch (publicKey.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "Ed448", "EdDSA" -> publicKey.getAlgorithm();
      case "RSASSA-PSS" -> "RSASSA-PSS";
      default -> null;
    };
    if (algorithm == null || !key.getAlgorithm().equals(publicKey.getAlgorithm())
        && !(key.getAlgorithm().startsWith("Ed") && publicKey.getAlgorithm().startsWith("Ed"))) {
      return false;
    }
    try {
      byte[] probe = new byte[32];
      new SecureRandom().nextBytes(probe);
      Signature signer = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        signer.setParameter(new PSSParameterSpec("SHA-256", "MGF1",
            MGF1ParameterSpec.SHA256, 32, 1));
      }
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        verifier.setParameter(new PSSParameterSpec("SHA-256", "MGF1",
            MGF1ParameterSpec.SHA256, 32, 1));
      }
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static byte[] read(Path file) throws PemException {
    try {
      if (Files.isDirectory(file)) {
        throw new PemException("cannot read " + file + " (it is a directory)");
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new PemException("cannot read " + file + " (no such file)");
    } catch (AccessDeniedException e) {
      throw new PemException("cannot read " + file + " (permission denied)");
    } catch (IOException e) {
      throw new PemException("cannot read " + file + " (" + e.getMessage() + ")");
    }
  }
}
