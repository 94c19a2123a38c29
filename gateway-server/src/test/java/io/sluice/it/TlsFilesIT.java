package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.GatewayProcess;
import io.sluice.testing.TestPki;
import io.sluice.testing.TestPki.KeyFormat;
import io.sluice.testing.TestPki.KeyType;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar with a config in its own folder that names its certificate and key relative to
 * that folder — the layout of a Kubernetes Secret mounted next to a ConfigMap — started from
 * another working directory: {@code --check} accepts it, and the gateway serves TLS with the
 * PKCS#1 key cert-manager writes; an encrypted key is a path-qualified {@code --check} error.
 */
class TlsFilesIT {
  private static final Pattern SECURE = Pattern.compile("listener 'secure' on https://[^:]+:(\\d+)");

  @TempDir Path dir;
  private final TestPki pki = TestPki.create("IT CA");
  private Path folder;
  private Path elsewhere;
  private TestPki.Issued issued;

  @BeforeEach
  void writeConfigFolder() throws Exception {
    folder = Files.createDirectories(dir.resolve("etc/sluice"));
    elsewhere = Files.createDirectories(dir.resolve("work"));
    issued = pki.issue("gateway.test", KeyType.RSA_2048);
    issued.write(Files.createDirectories(folder.resolve("tls")), "server", KeyFormat.PKCS1);
  }

  private Path config(String key) throws Exception {
    return Files.writeString(folder.resolve("gateway.yaml"), """
        admin: { host: 127.0.0.1, port: 0 }
        listeners:
          - name: secure
            host: 127.0.0.1
            port: 0
            tls: { certificate: tls/server.crt, private-key: %s }
        """.formatted(key));
  }

  @Test
  void checkAcceptsRelativeTlsPathsFromAnotherWorkingDirectory() throws Exception {
    Path config = config("tls/server.key");
    try (GatewayProcess p = GatewayProcess.startIn(elsewhere, List.of(), "--config", config.toString(), "--check")) {
      assertThat(p.awaitExit()).as(p.output()).isEqualTo(0);
    }
  }

  @Test
  void checkNamesTheKeyOfAnEncryptedPrivateKey() throws Exception {
    Files.writeString(folder.resolve("tls/encrypted.key"), issued.keyPem(KeyFormat.ENCRYPTED_PKCS8));
    Path config = config("tls/encrypted.key");
    try (GatewayProcess p = GatewayProcess.startIn(elsewhere, List.of(), "--config", config.toString(), "--check")) {
      assertThat(p.awaitExit()).isEqualTo(2);
      assertThat(p.output()).contains("listeners[0].tls.private-key: encrypted private keys are not supported: "
          + folder.resolve("tls/encrypted.key")).doesNotContain("Exception");
    }
  }

  @Test
  void servesTlsWithAPkcs1KeyNamedRelativeToTheConfig() throws Exception {
    Path config = config("tls/server.key");
    try (GatewayProcess p = GatewayProcess.startIn(elsewhere, List.of(), "--config", config.toString())) {
      p.awaitReady();
      Matcher m = SECURE.matcher(p.output().replace("\\/", "/"));
      assertThat(m.find()).as(p.output()).isTrue();
      try (SSLSocket socket = (SSLSocket) pki.clientContext().getSocketFactory()
          .createSocket("127.0.0.1", Integer.parseInt(m.group(1)))) {
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
        socket.getOutputStream().write("GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        assertThat(response).startsWith("HTTP/1.1 404 ").contains("\"type\"");
      }
    }
  }
}
