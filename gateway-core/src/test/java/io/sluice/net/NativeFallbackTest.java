package io.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.handler.ssl.OpenSsl;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway whose native libraries do not load says so: the WARN that {@link Transport} and
 * {@link SslProviders} log, and — in a JVM of its own, since a JVM tries to load natives once —
 * that both really appear when Netty cannot unpack its libraries, and not otherwise.
 */
class NativeFallbackTest {
  @Test
  void theMessageNamesTheCauseTheFallbackTheFolderAndTheWayOut() {
    String message = NativeFallback.message("Netty's native epoll transport", "NIO",
        new UnsatisfiedLinkError("could not load a native library: netty_transport_native_epoll_x86_64"),
        "/tmp", "-Dsluice.nio=true");
    assertThat(message).isEqualTo("Netty's native epoll transport did not load (java.lang.UnsatisfiedLinkError:"
        + " could not load a native library: netty_transport_native_epoll_x86_64); running on NIO instead,"
        + " which costs more CPU than the configuration the benchmarks measured. Netty unpacks its native"
        + " libraries into /tmp (io.netty.native.workdir, else java.io.tmpdir), which must be writable and"
        + " not mounted noexec (on Kubernetes with readOnlyRootFilesystem: mount an emptyDir at /tmp)."
        + " To choose NIO on purpose, set -Dsluice.nio=true.");
  }

  @Test
  void theCauseIsShownWithItsRootCauseAndNoStackTrace() {
    Throwable root = new IOException("Read-only file system");
    Throwable cause = new UnsatisfiedLinkError("could not load a native library: netty_tcnative_linux_x86_64");
    cause.initCause(new IllegalStateException("unpacking failed", root));
    assertThat(NativeFallback.describe(cause)).isEqualTo(
        "java.lang.UnsatisfiedLinkError: could not load a native library: netty_tcnative_linux_x86_64;"
            + " caused by java.io.IOException: Read-only file system");
    assertThat(NativeFallback.describe(root)).isEqualTo("java.io.IOException: Read-only file system");
    assertThat(NativeFallback.describe(null)).isEqualTo("no reason given");
  }

  @Test
  void onlyLinuxExpectsTheNativesToLoad() {
    assertThat(NativeFallback.expectedToLoad("Linux")).isTrue();
    assertThat(NativeFallback.expectedToLoad("Mac OS X")).isFalse();
    assertThat(NativeFallback.expectedToLoad("Windows 11")).isFalse();
    assertThat(NativeFallback.expectedToLoad(null)).isFalse();
  }

  @Test
  void warnsOfBothFallbacksWhenNettyCannotUnpackItsNatives(@TempDir Path dir) throws Exception {
    assumeTrue(NativeFallback.expectedToLoad(System.getProperty("os.name")), "natives ship for Linux only");
    assumeTrue(Epoll.isAvailable() && OpenSsl.isAvailable(), "the natives load in this JVM (the premise)");

    // A regular file where Netty expects a folder: unpacking fails even for root, as a read-only
    // /tmp does for the image's user.
    Path notAFolder = Files.writeString(dir.resolve("not-a-folder"), "");
    String broken = run("-Dio.netty.native.workdir=" + notAFolder);
    assertThat(broken).contains("transport nio", "tls JDK");
    assertThat(broken).containsPattern("WARN .*Netty's native epoll transport did not load \\(.+\\); running on NIO");
    assertThat(broken).containsPattern("WARN .*OpenSSL \\(netty-tcnative BoringSSL\\) did not load \\(.+\\);"
        + " running on the JDK TLS engine");
    assertThat(broken).contains("Netty unpacks its native libraries into " + notAFolder);

    String healthy = run("-Dio.netty.native.workdir=" + dir);
    assertThat(healthy).contains("transport epoll", "tls OPENSSL").doesNotContain("WARN");

    String chosen = run("-Dio.netty.native.workdir=" + notAFolder, "-Dsluice.nio=true", "-Dsluice.tls.provider=jdk");
    assertThat(chosen).contains("transport nio", "tls JDK").doesNotContain("WARN");
  }

  /** Runs {@link Probe} in a new JVM with the test's class path; its output. */
  private static String run(String... flags) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(flags));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(out).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  /** What a gateway does at start: create its transport, then pick the TLS engine. */
  static final class Probe {
    public static void main(String[] args) {
      try (Transport transport = Transport.create(1)) {
        System.out.println("transport " + transport.name());
      }
      System.out.println("tls " + SslProviders.preferred());
    }
  }
}
