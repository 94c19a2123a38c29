package io.sluice.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A test certificate authority made in memory (Bouncy Castle, test scope only): no private key is
 * committed. Issues server certificates for {@code localhost} / {@code 127.0.0.1} and writes them
 * as the PEM files the gateway reads, the key in each form a user may have ({@link KeyFormat}).
 * The PKCS#1 and SEC1 encodings are made by Bouncy Castle, not by the gateway's code, so a test
 * that reads them checks the gateway against another implementation.
 */
public final class TestPki {
  /** The kind of key a server certificate is issued for. */
  public enum KeyType {
    EC_P256("secp256r1"), EC_P384("secp384r1"), RSA_2048(null);

    private final String curve;

    KeyType(String curve) {
      this.curve = curve;
    }

    KeyPair generate() throws Exception {
      KeyPairGenerator g = KeyPairGenerator.getInstance(curve == null ? "RSA" : "EC");
      if (curve == null) {
        g.initialize(2048);
      } else {
        g.initialize(new ECGenParameterSpec(curve));
      }
      return g.generateKeyPair();
    }
  }

  /** How a private key is written to its PEM file. */
  public enum KeyFormat {
    /** {@code BEGIN PRIVATE KEY}. */
    PKCS8,
    /** {@code BEGIN RSA PRIVATE KEY} (RSA only), as {@code openssl genrsa -traditional} and cert-manager write it. */
    PKCS1,
    /**
     * {@code BEGIN EC PRIVATE KEY} (EC only) with the named curve and the public key, as
     * {@code openssl ecparam -genkey} and cert-manager (Go's {@code x509.MarshalECPrivateKey}) write it.
     */
    SEC1,
    /** {@code BEGIN ENCRYPTED PRIVATE KEY}: PKCS#8 encrypted with AES-256-CBC under a passphrase. */
    ENCRYPTED_PKCS8
  }

  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private final KeyPair caKeys;
  private final X509Certificate caCert;

  private TestPki(String name) {
    try {
      caKeys = ecKeys();
      Instant now = Instant.now();
      var builder = new JcaX509v3CertificateBuilder(new X500Name("CN=" + name), serial(),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))),
          new X500Name("CN=" + name), caKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      caCert = sign(builder, caKeys.getPrivate());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A new CA. */
  public static TestPki create(String name) {
    return new TestPki(name);
  }

  public X509Certificate caCertificate() {
    return caCert;
  }

  /** A server certificate for localhost and 127.0.0.1, valid from an hour ago for 30 days. */
  public Issued issue(String commonName) {
    Instant now = Instant.now();
    return issue(commonName, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)));
  }

  /** A server certificate with the given validity (an expired one for negative tests). */
  public Issued issue(String commonName, Instant notBefore, Instant notAfter) {
    return issue(commonName, notBefore, notAfter, new GeneralName[] {
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")});
  }

  /** A server certificate for one DNS name only (hostname-mismatch tests). */
  public Issued issueForName(String dnsName) {
    Instant now = Instant.now();
    return issue(dnsName, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)),
        new GeneralName[] {new GeneralName(GeneralName.dNSName, dnsName)});
  }

  /** A server certificate for localhost and 127.0.0.1 with a key of this type. */
  public Issued issue(String commonName, KeyType type) {
    Instant now = Instant.now();
    return issue(commonName, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)), new GeneralName[] {
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}, type);
  }

  private Issued issue(String commonName, Instant notBefore, Instant notAfter, GeneralName[] names) {
    return issue(commonName, notBefore, notAfter, names, KeyType.EC_P256);
  }

  private Issued issue(String commonName, Instant notBefore, Instant notAfter, GeneralName[] names, KeyType type) {
    try {
      KeyPair keys = type.generate();
      var builder = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(notBefore), Date.from(notAfter),
          new X500Name("CN=" + commonName), keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      return new Issued(sign(builder, caKeys.getPrivate()), keys.getPrivate(), caCert);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A JDK client context that trusts only this CA. */
  public SSLContext clientContext() {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", caCert);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the CA certificate as PEM. */
  public Path writeCa(Path file) throws IOException {
    Files.writeString(file, pem("CERTIFICATE", encoded(caCert)), StandardCharsets.US_ASCII);
    return file;
  }

  /** An issued certificate with its key. */
  public record Issued(X509Certificate certificate, PrivateKey key, X509Certificate issuer) {
    /** Writes {@code <dir>/<name>.crt} (leaf then CA) and {@code <dir>/<name>.key} (PKCS#8). */
    public Files2 write(Path dir, String name) throws IOException {
      return write(dir, name, KeyFormat.PKCS8);
    }

    /** Writes {@code <dir>/<name>.crt} (leaf then CA) and {@code <dir>/<name>.key} in this form. */
    public Files2 write(Path dir, String name, KeyFormat format) throws IOException {
      Path crt = dir.resolve(name + ".crt");
      Path key = dir.resolve(name + ".key");
      Files.writeString(crt, pem("CERTIFICATE", encoded(certificate)) + pem("CERTIFICATE", encoded(issuer)),
          StandardCharsets.US_ASCII);
      Files.writeString(key, keyPem(format), StandardCharsets.US_ASCII);
      return new Files2(crt, key);
    }

    /** The private key as a PEM block in this form. */
    public String keyPem(KeyFormat format) {
      try {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
        return switch (format) {
          case PKCS8 -> pem("PRIVATE KEY", key.getEncoded());
          case PKCS1 -> {
            if (!key.getAlgorithm().equals("RSA")) {
              throw new IllegalArgumentException("PKCS#1 holds RSA keys only");
            }
            yield pem("RSA PRIVATE KEY", info.parsePrivateKey().toASN1Primitive().getEncoded());
          }
          case SEC1 -> {
            if (!key.getAlgorithm().equals("EC")) {
              throw new IllegalArgumentException("SEC1 holds EC keys only");
            }
            // The JDK's inner ECPrivateKey has version and key only; add the curve ([0]) and the
            // public key ([1]) as OpenSSL and Go write them.
            ASN1Sequence inner = ASN1Sequence.getInstance(info.parsePrivateKey());
            ASN1EncodableVector fields = new ASN1EncodableVector();
            fields.add(inner.getObjectAt(0));
            fields.add(inner.getObjectAt(1));
            fields.add(new DERTaggedObject(true, 0, info.getPrivateKeyAlgorithm().getParameters()));
            fields.add(new DERTaggedObject(true, 1,
                SubjectPublicKeyInfo.getInstance(certificate.getPublicKey().getEncoded()).getPublicKeyData()));
            yield pem("EC PRIVATE KEY", new DERSequence(fields).getEncoded());
          }
          case ENCRYPTED_PKCS8 -> {
            // Bouncy Castle's own provider: its OID-named ciphers are not all in the JDK's.
            OutputEncryptor encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                .setProvider(new BouncyCastleProvider()).setPassword("secret".toCharArray()).build();
            PemObject encrypted = new JcaPKCS8Generator(key, encryptor).generate();
            yield pem(encrypted.getType(), encrypted.getContent());
          }
        };
      } catch (IOException | OperatorCreationException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** The two files of a certificate and its key. */
  public record Files2(Path certificate, Path key) {}

  private static byte[] encoded(X509Certificate cert) {
    try {
      return cert.getEncoded();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIAL.incrementAndGet());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
  }
}
