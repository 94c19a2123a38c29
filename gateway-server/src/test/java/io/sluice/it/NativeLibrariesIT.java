package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sluice.testing.GatewayProcess;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The native libraries {@code gateway.jar} ships: epoll and BoringSSL for Linux x86_64 and
 * aarch64 (the image's platforms), nothing for macOS or Windows, where Netty runs NIO and the
 * JDK's TLS engine instead (gateway-core's pom and gateway-server's shade filter).
 */
class NativeLibrariesIT {
  private static final List<String> SHIPPED = List.of(
      "META-INF/native/libnetty_tcnative_linux_aarch_64.so",
      "META-INF/native/libnetty_tcnative_linux_x86_64.so",
      "META-INF/native/libnetty_transport_native_epoll_aarch_64.so",
      "META-INF/native/libnetty_transport_native_epoll_x86_64.so");

  @Test
  void theJarShipsEpollAndBoringSslForLinuxX8664AndAarch64Only() throws Exception {
    List<String> natives;
    try (JarFile jar = new JarFile(GatewayProcess.jar())) {
      natives = Collections.list(jar.entries()).stream()
          .map(ZipEntry::getName)
          .filter(NativeLibrariesIT::isNativeLibrary)
          .sorted()
          .toList();
    }
    assertThat(natives).isEqualTo(SHIPPED);
  }

  /**
   * On the platforms it ships for, the jar's own copies load: classes and libraries from
   * gateway.jar alone (a class loader that does not see the test's class path), as the image runs.
   */
  @Test
  void theShippedLibrariesLoadOnLinux() throws Exception {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    assumeTrue(os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64")),
        "natives ship for Linux x86_64 and aarch64 only (this is " + os + " " + arch + ")");
    URL jar = Path.of(GatewayProcess.jar()).toUri().toURL();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader())) {
      assertAvailable(loader, "io.netty.channel.epoll.Epoll");
      assertAvailable(loader, "io.netty.handler.ssl.OpenSsl");
    }
  }

  private static void assertAvailable(ClassLoader loader, String className) throws Exception {
    Class<?> type = Class.forName(className, true, loader);
    assertThat(type.getClassLoader()).as("%s from gateway.jar", className).isSameAs(loader);
    Method available = type.getMethod("isAvailable");
    Method cause = type.getMethod("unavailabilityCause");
    boolean ok = (boolean) available.invoke(null);
    assertThat(ok).as("%s.isAvailable(); cause: %s", className, cause.invoke(null)).isTrue();
  }

  private static boolean isNativeLibrary(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return !n.endsWith("/") && (n.endsWith(".so") || n.endsWith(".jnilib") || n.endsWith(".dylib")
        || n.endsWith(".dll") || n.startsWith("meta-inf/native/"));
  }
}
