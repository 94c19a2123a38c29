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
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and checks PEM certificates and private keys with the JDK alone, so that {@code --check}
 * and a reload refuse a broken pair with a clear reason before any TLS engine sees it, and so that
 * the TLS engine is handed exactly the key and chain that were checked.
 *
 * <p>Private keys: PKCS#8 ({@code BEGIN PRIVATE KEY}: RSA, RSASSA-PSS, EC, Ed25519, Ed448), and
 * the two "traditional" OpenSSL forms that cert-manager, Go's {@code crypto/x509} and
 * {@code openssl genrsa -traditional} / {@code openssl ecparam -genkey} write: PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}) and SEC1 ({@code BEGIN EC PRIVATE KEY}, named curves P-256,
 * P-384, P-521). Netty reads only PKCS#8 from files (the others only when Bouncy Castle is on the
 * class path, which it is not at run time), so the traditional forms are wrapped into a PKCS#8
 * {@code PrivateKeyInfo} here ({@link Der}) and given to the JDK's {@link KeyFactory}. Encrypted
 * keys are refused: the gateway would need the passphrase in its config, next to the key.
 */
public final class PemFiles {
  /** A PEM block: {@code -----BEGIN LABEL-----}, optional RFC 1421 headers, base64, END. */
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

  private static final String RSA = "1.2.840.113549.1.1.1";
  private static final String RSASSA_PSS = "1.2.840.113549.1.1.10";
  private static final String EC = "1.2.840.10045.2.1";
  private static final String ED25519 = "1.3.101.112";
  private static final String ED448 = "1.3.101.113";
  /** The curves the JDK's {@code SunEC} provider (and both TLS engines) support, by OID. */
  private static final Map<String, String> CURVES = Map.of(
      "1.2.840.10045.3.1.7", "P-256", "1.3.132.0.34", "P-384", "1.3.132.0.35", "P-521");
  private static final String KEY_FORMATS =
      "expected a PEM block BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY";

  private PemFiles() {}

  /** A problem with a file, phrased for a config message. */
  public static final class PemException extends Exception {
    public PemException(String message) {
      super(message);
    }
  }

  /**
   * A certificate chain and its private key, read and checked together.
   *
   * @param chain leaf first
   */
  public record CertifiedKey(List<X509Certificate> chain, PrivateKey key) {
    public CertifiedKey {
      chain = List.copyOf(chain);
    }
  }

  /** The certificates of a PEM file, in file order (leaf first for a chain); other blocks are skipped. */
  public static List<X509Certificate> certificates(Path file) throws PemException {
    String text = new String(read(file), StandardCharsets.US_ASCII);
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (Block b : blocks(text)) {
        if (b.label().equals("CERTIFICATE")) {
          out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der(file))));
        }
      }
    } catch (CertificateException e) {
      throw new PemException("not a PEM certificate: " + file + " (" + e.getMessage() + ")");
    }
    if (out.isEmpty()) {
      throw new PemException("no PEM certificate in " + file);
    }
    return out;
  }

  /**
   * The private key of a PEM file: PKCS#8 (RSA, RSASSA-PSS, EC, Ed25519, Ed448), PKCS#1 (RSA) or
   * SEC1 (EC on a named curve). Other blocks in the file (a certificate, SEC1's
   * {@code EC PARAMETERS}) are skipped; more than one key is refused.
   */
  public static PrivateKey privateKey(Path file) throws PemException {
    String text = new String(read(file), StandardCharsets.US_ASCII);
    List<Block> keys = blocks(text).stream().filter(b -> b.label().endsWith("PRIVATE KEY")).toList();
    if (keys.isEmpty()) {
      throw new PemException("no private key in " + file + " ("
          + (text.contains("-----BEGIN CERTIFICATE-----") ? "it holds only certificates; " : "") + KEY_FORMATS + ")");
    }
    if (keys.size() > 1) {
      throw new PemException(file + " holds " + keys.size() + " private keys (expected one)");
    }
    Block key = keys.get(0);
    if (key.label().equals("ENCRYPTED PRIVATE KEY") || key.headers().contains("ENCRYPTED")) {
      throw new PemException("encrypted private keys are not supported: " + file
          + " (store it unencrypted, readable only by the gateway; openssl pkey -in ENCRYPTED -out PLAIN decrypts it)");
    }
    String label = key.label();
    try {
      return switch (label) {
        case "PRIVATE KEY" -> pkcs8(key.der(file), label, file);
        case "RSA PRIVATE KEY" -> pkcs8(wrapPkcs1(key.der(file)), label, file);
        case "EC PRIVATE KEY" -> pkcs8(wrapSec1(key.der(file), file), label, file);
        case "OPENSSH PRIVATE KEY" -> throw new PemException("an OpenSSH key is not a TLS key: " + file
            + " (" + KEY_FORMATS + ")");
        default -> throw new PemException("unsupported key type '" + label + "' in " + file + " (" + KEY_FORMATS + ")");
      };
    } catch (Der.MalformedException e) {
      throw new PemException("corrupt " + label + " block in " + file + " (" + e.getMessage() + ")");
    }
  }

  /**
   * PKCS#1 {@code RSAPrivateKey} as PKCS#8: {@code PrivateKeyInfo ::= SEQUENCE { version 0,
   * AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING { RSAPrivateKey } }} (RFC 5208,
   * RFC 8017 A.1.2). The RSA integers themselves are left to the JDK's key factory.
   */
  private static byte[] wrapPkcs1(byte[] der) throws Der.MalformedException {
    Der.Reader fields = Der.single(der, Der.SEQUENCE, "RSAPrivateKey").contents();
    int version = fields.next("the version").intValue("the version");
    if (version != 0) {
      throw new Der.MalformedException("version " + version + " (multi-prime RSA) is not supported");
    }
    return Der.write(Der.SEQUENCE, Der.integer(0), Der.write(Der.SEQUENCE, Der.oid(RSA), Der.write(Der.NULL)),
        Der.write(Der.OCTET_STRING, der));
  }

  /**
   * SEC1 {@code ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters,
   * [1] publicKey }} (RFC 5915) as PKCS#8: the named curve moves into the AlgorithmIdentifier
   * {@code { id-ecPublicKey, curve }}, and the inner key keeps version and private key only (what
   * the JDK itself writes; the public key is the certificate's).
   */
  private static byte[] wrapSec1(byte[] der, Path file) throws Der.MalformedException, PemException {
    Der.Reader fields = Der.single(der, Der.SEQUENCE, "ECPrivateKey").contents();
    int version = fields.next("the version").intValue("the version");
    if (version != 1) {
      throw new Der.MalformedException("version " + version + ", expected 1");
    }
    Der.Value privateKey = fields.next(Der.OCTET_STRING, "the private key");
    String curve = null;
    while (fields.hasMore()) {
      Der.Value field = fields.next("a field");
      if (field.tag() == Der.CONTEXT_0) {
        Der.Value parameters = field.contents().next("the parameters");
        if (parameters.tag() != Der.OID) {
          throw new PemException("explicit EC curve parameters are not supported: " + file
              + " (expected a named curve: P-256, P-384 or P-521)");
        }
        curve = parameters.oid("the curve");
      } else if (field.tag() != Der.CONTEXT_1) {
        throw new Der.MalformedException("an unexpected field after the private key");
      }
    }
    if (curve == null) {
      throw new PemException("the EC key in " + file + " names no curve (expected a named curve: P-256, P-384 or P-521)");
    }
    byte[] inner = Der.write(Der.SEQUENCE, Der.integer(1), Der.write(Der.OCTET_STRING, privateKey.content()));
    return Der.write(Der.SEQUENCE, Der.integer(0), Der.write(Der.SEQUENCE, Der.oid(EC), Der.oid(curve)),
        Der.write(Der.OCTET_STRING, inner));
  }

  /**
   * A PKCS#8 {@code PrivateKeyInfo}: the algorithm is read from it (so an unsupported one is
   * named) and the JDK's key factory for that algorithm builds the key.
   */
  private static PrivateKey pkcs8(byte[] der, String label, Path file) throws Der.MalformedException, PemException {
    Der.Reader fields = Der.single(der, Der.SEQUENCE, "PrivateKeyInfo").contents();
    fields.next(Der.INTEGER, "the version");
    Der.Reader algorithm = fields.next(Der.SEQUENCE, "the algorithm").contents();
    String oid = algorithm.next("the algorithm").oid("the algorithm");
    String factory = switch (oid) {
      case RSA -> "RSA";
      case RSASSA_PSS -> "RSASSA-PSS";
      case EC -> "EC";
      case ED25519 -> "Ed25519";
      case ED448 -> "Ed448";
      default -> throw new PemException("unsupported key algorithm " + oid + " in " + file
          + " (expected RSA, EC, Ed25519 or Ed448)");
    };
    if (oid.equals(EC)) {
      Der.Value parameters = algorithm.hasMore() ? algorithm.next("the curve") : null;
      if (parameters != null && parameters.tag() == Der.SEQUENCE) {
        throw new PemException("explicit EC curve parameters are not supported: " + file
            + " (expected a named curve: P-256, P-384 or P-521)");
      }
      if (parameters == null || parameters.tag() != Der.OID) {
        throw new PemException("the EC key in " + file + " names no curve (expected a named curve: P-256, P-384 or P-521)");
      }
      String curve = parameters.oid("the curve");
      if (!CURVES.containsKey(curve)) {
        throw new PemException("unsupported EC curve " + curve + " in " + file + " (expected P-256, P-384 or P-521)");
      }
    }
    try {
      return KeyFactory.getInstance(factory).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new PemException("corrupt " + label + " block in " + file + " (" + factory + ": " + e.getMessage() + ")");
    }
  }

  /** A PEM block of a file. */
  private record Block(String label, String headers, String base64) {
    /** The block's bytes; strict base64, so stray characters are an error rather than skipped. */
    byte[] der(Path file) throws PemException {
      try {
        return Base64.getDecoder().decode(base64.replaceAll("\\s", ""));
      } catch (IllegalArgumentException e) {
        throw new PemException("invalid base64 in the " + label + " block of " + file);
      }
    }
  }

  private static List<Block> blocks(String text) {
    List<Block> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      String body = m.group(2);
      // RFC 1421 headers (Proc-Type, DEK-Info) end at the first empty line.
      String headers = "";
      int blank = body.indexOf("\n\n");
      int blankCr = body.indexOf("\r\n\r\n");
      if (body.contains(":") && (blank >= 0 || blankCr >= 0)) {
        int end = blank >= 0 ? blank : blankCr;
        headers = body.substring(0, end);
        body = body.substring(end);
      }
      out.add(new Block(m.group(1), headers, body));
    }
    return out;
  }

  /**
   * Reads a server certificate chain and its key and checks them: readable, the key matches the
   * leaf certificate, the leaf is valid now.
   */
  public static CertifiedKey checkPair(Path certificate, Path key, Instant now) throws PemException {
    List<X509Certificate> chain = certificates(certificate);
    X509Certificate leaf = chain.get(0);
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
    return new CertifiedKey(chain, privateKey);
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
