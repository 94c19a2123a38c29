package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestPki;
import io.sluice.testing.TestPki.KeyFormat;
import io.sluice.testing.TestPki.KeyType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Private keys in each PEM form a user may have (PKCS#8, PKCS#1, SEC1) read as the same key, and
 * every form the gateway cannot use refused with a reason that names the file. The PKCS#1 and SEC1
 * inputs come from Bouncy Castle ({@link TestPki}) and from the {@code openssl} command line, never
 * from the code under test.
 */
class PemFilesTest {
  private static final String FORMATS =
      "expected a PEM block BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY";
  private static final String P256 = "1.2.840.10045.3.1.7";

  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Test CA");

  private Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text, StandardCharsets.US_ASCII);
  }

  private static String pem(String label, byte[] der) {
    return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder().encodeToString(der) + "\n-----END " + label
        + "-----\n";
  }

  private String refusal(Path file) {
    return catchThrowableOfType(PemFiles.PemException.class, () -> PemFiles.privateKey(file)).getMessage();
  }

  // ---------------------------------------------------------------- each format, the same key

  @ParameterizedTest(name = "{0} as {1}")
  @CsvSource({
      "RSA_2048, PKCS1", "EC_P256, SEC1", "EC_P384, SEC1", "RSA_2048, PKCS8", "EC_P256, PKCS8", "EC_P384, PKCS8"})
  void readsEachFormatAsTheKeyThatWasWritten(KeyType type, KeyFormat format) throws Exception {
    TestPki.Issued issued = pki.issue("gw", type);
    TestPki.Files2 files = issued.write(dir, "gw", format);

    PrivateKey key = PemFiles.privateKey(files.key());
    assertThat(key.getAlgorithm()).isEqualTo(issued.key().getAlgorithm());
    assertThat(key.getEncoded()).isEqualTo(issued.key().getEncoded()); // the JDK's PKCS#8 of the same key
    PemFiles.CertifiedKey pair = PemFiles.checkPair(files.certificate(), files.key(), Instant.now());
    assertThat(pair.key().getEncoded()).isEqualTo(issued.key().getEncoded());
    assertThat(pair.chain()).containsExactly(issued.certificate(), issued.issuer());
  }

  @Test
  void readsAnEcKeyAfterItsParametersBlockAsOpensslEcparamWritesIt() throws Exception {
    TestPki.Issued issued = pki.issue("gw", KeyType.EC_P256);
    String parameters = pem("EC PARAMETERS", Der.oid(P256)); // "BggqhkjOPQMBBw=="
    assertThat(parameters).contains("BggqhkjOPQMBBw==");
    Path file = write("ec.key", parameters + issued.keyPem(KeyFormat.SEC1));
    assertThat(PemFiles.privateKey(file).getEncoded()).isEqualTo(issued.key().getEncoded());
  }

  @Test
  void readsTheKeyOfAFileThatAlsoHoldsTheChain() throws Exception {
    TestPki.Issued issued = pki.issue("gw", KeyType.RSA_2048);
    TestPki.Files2 files = issued.write(dir, "gw", KeyFormat.PKCS1);
    Path combined = write("combined.pem", Files.readString(files.certificate()) + "\r\n"
        + Files.readString(files.key()).replace("\n", "\r\n"));
    assertThat(PemFiles.privateKey(combined).getEncoded()).isEqualTo(issued.key().getEncoded());
    assertThat(PemFiles.certificates(combined)).containsExactly(issued.certificate(), issued.issuer());
  }

  @Test
  void aKeyOfAnotherCertificateDoesNotMatchWhateverItsFormat() throws Exception {
    TestPki.Files2 a = pki.issue("a", KeyType.EC_P256).write(dir, "a", KeyFormat.SEC1);
    TestPki.Files2 b = pki.issue("b", KeyType.EC_P256).write(dir, "b", KeyFormat.SEC1);
    assertThat(catchThrowableOfType(PemFiles.PemException.class,
        () -> PemFiles.checkPair(a.certificate(), b.key(), Instant.now())))
        .hasMessage("the private key " + b.key() + " does not match the certificate " + a.certificate());
  }

  // ---------------------------------------------------------------- refused, with the reason

  @Test
  void refusesAnEncryptedPkcs8Key() throws Exception {
    Path file = write("enc.key", pki.issue("gw").keyPem(KeyFormat.ENCRYPTED_PKCS8));
    assertThat(Files.readString(file)).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    assertThat(refusal(file)).isEqualTo("encrypted private keys are not supported: " + file
        + " (store it unencrypted, readable only by the gateway; openssl pkey -in ENCRYPTED -out PLAIN decrypts it)");
  }

  static Stream<Arguments> refusals() {
    byte[] scalar = new byte[32];
    Arrays.fill(scalar, (byte) 7);
    byte[] octets = Der.write(Der.OCTET_STRING, scalar);
    return Stream.of(
        Arguments.of("not PEM", "hello\n", "no private key in %s (" + FORMATS + ")"),
        Arguments.of("an empty file", "", "no private key in %s (" + FORMATS + ")"),
        Arguments.of("a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "no private key in %s (it holds only certificates; " + FORMATS + ")"),
        Arguments.of("traditional encryption (Proc-Type)", """
            -----BEGIN RSA PRIVATE KEY-----
            Proc-Type: 4,ENCRYPTED
            DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF

            AAAA
            -----END RSA PRIVATE KEY-----
            """, "encrypted private keys are not supported: %s (store it unencrypted, readable only by the "
            + "gateway; openssl pkey -in ENCRYPTED -out PLAIN decrypts it)"),
        Arguments.of("stray characters", "-----BEGIN PRIVATE KEY-----\nMII*\n-----END PRIVATE KEY-----\n",
            "invalid base64 in the PRIVATE KEY block of %s"),
        Arguments.of("PKCS#1 that is not a SEQUENCE", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "corrupt RSA PRIVATE KEY block in %s (RSAPrivateKey: expected SEQUENCE, found tag 0x00)"),
        Arguments.of("PKCS#1 cut short", pem("RSA PRIVATE KEY", new byte[] {0x30, (byte) 0x82, 0x04, (byte) 0xa4, 0x02, 0x01}),
            "corrupt RSA PRIVATE KEY block in %s (RSAPrivateKey: truncated (a length of 1188 bytes, 2 left))"),
        Arguments.of("multi-prime PKCS#1", pem("RSA PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(1))),
            "corrupt RSA PRIVATE KEY block in %s (version 1 (multi-prime RSA) is not supported)"),
        Arguments.of("SEC1 version 2", pem("EC PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(2), octets)),
            "corrupt EC PRIVATE KEY block in %s (version 2, expected 1)"),
        Arguments.of("SEC1 without a curve", pem("EC PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(1), octets)),
            "the EC key in %s names no curve (expected a named curve: P-256, P-384 or P-521)"),
        Arguments.of("SEC1 on secp256k1", pem("EC PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(1), octets,
                Der.write(Der.CONTEXT_0, Der.oid("1.3.132.0.10")))),
            "unsupported EC curve 1.3.132.0.10 in %s (expected P-256, P-384 or P-521)"),
        Arguments.of("SEC1 with explicit parameters", pem("EC PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(1),
                octets, Der.write(Der.CONTEXT_0, Der.write(Der.SEQUENCE, Der.integer(1))))),
            "explicit EC curve parameters are not supported: %s (expected a named curve: P-256, P-384 or P-521)"),
        Arguments.of("PKCS#8 DSA", pem("PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(0),
                Der.write(Der.SEQUENCE, Der.oid("1.2.840.10040.4.1")), Der.write(Der.OCTET_STRING, octets))),
            "unsupported key algorithm 1.2.840.10040.4.1 in %s (expected RSA, EC, Ed25519 or Ed448)"),
        Arguments.of("a DSA key", "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
            "unsupported key type 'DSA PRIVATE KEY' in %s (" + FORMATS + ")"),
        Arguments.of("an OpenSSH key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n",
            "an OpenSSH key is not a TLS key: %s (" + FORMATS + ")"),
        Arguments.of("two keys", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
                + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "%s holds 2 private keys (expected one)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusals")
  void refusesWhatItCannotUseNamingTheFile(String what, String content, String expected) throws Exception {
    Path file = write("bad.key", content);
    assertThat(refusal(file)).isEqualTo(expected.formatted(file));
  }

  @Test
  void refusesAPkcs1KeyWhoseNumbersAreNotAnRsaKey() throws Exception {
    Path file = write("rsa.key", pem("RSA PRIVATE KEY", Der.write(Der.SEQUENCE, Der.integer(0), Der.integer(5))));
    assertThat(refusal(file)).startsWith("corrupt RSA PRIVATE KEY block in " + file + " (RSA: ");
  }

  @Test
  void refusesAFileItCannotRead() throws Exception {
    assertThat(refusal(dir.resolve("none.key"))).isEqualTo("cannot read " + dir.resolve("none.key") + " (no such file)");
    assertThat(refusal(dir)).isEqualTo("cannot read " + dir + " (it is a directory)");
  }

  // ---------------------------------------------------------------- keys made by openssl

  /**
   * What users actually have: keys written by {@code openssl} in its traditional and PKCS#8
   * forms. Each must read as the private half of the public key {@code openssl pkey -pubout}
   * derives from the same file.
   */
  @ParameterizedTest(name = "openssl {0}")
  @CsvSource(delimiter = '|', value = {
      "genrsa -traditional -out {out} 2048                        | BEGIN RSA PRIVATE KEY",
      "ecparam -name prime256v1 -genkey -out {out}               | BEGIN EC PARAMETERS",
      "ecparam -name secp384r1 -genkey -noout -out {out}         | BEGIN EC PRIVATE KEY",
      "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out {out} | BEGIN PRIVATE KEY",
      "genpkey -algorithm ed25519 -out {out}                     | BEGIN PRIVATE KEY"})
  void readsKeysThatOpensslWrites(String command, String label) throws Exception {
    Path key = dir.resolve("key.pem");
    openssl(command.replace("{out}", key.toString()));
    assertThat(Files.readString(key)).startsWith("-----" + label + "-----");
    Path pub = dir.resolve("pub.pem");
    openssl("pkey -in " + key + " -pubout -out " + pub);

    PrivateKey read = PemFiles.privateKey(key);
    String base64 = Files.readString(pub).replaceAll("-----[A-Z ]+-----|\\s", "");
    PublicKey publicKey = KeyFactory.getInstance(read.getAlgorithm())
        .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
    assertThat(PemFiles.matches(read, publicKey)).isTrue();
  }

  @ParameterizedTest(name = "openssl {0}")
  @CsvSource(delimiter = '|', value = {
      "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out {out} | BEGIN ENCRYPTED PRIVATE KEY",
      "genrsa -traditional -aes128 -passout pass:secret -out {out} 2048                | Proc-Type: 4,ENCRYPTED"})
  void refusesEncryptedKeysThatOpensslWrites(String command, String marker) throws Exception {
    Path key = dir.resolve("key.pem");
    openssl(command.replace("{out}", key.toString()));
    assertThat(Files.readString(key)).contains(marker);
    assertThat(refusal(key)).startsWith("encrypted private keys are not supported: " + key);
  }

  private static void openssl(String args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(SystemBinary.require("openssl").toString());
    command.addAll(List.of(args.trim().split("\\s+")));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(out).isTrue();
    assertThat(p.exitValue()).as("openssl " + args + ":\n" + out).isZero();
  }
}
