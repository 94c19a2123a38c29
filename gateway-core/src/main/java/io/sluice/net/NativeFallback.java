package io.sluice.net;

import java.util.Locale;

/**
 * The log line for a native library that did not load (epoll, BoringSSL), so that a gateway that
 * silently runs slower than the one the benchmarks measured says so at start.
 *
 * <p>Why the hint about the temporary folder: Netty unpacks a native library from the jar into
 * {@code java.io.tmpdir} before loading it. A container with a read-only root and no writable
 * {@code /tmp}, or a {@code /tmp} mounted {@code noexec}, is the usual reason it fails on Linux.
 */
final class NativeFallback {
  private NativeFallback() {}

  /**
   * Whether the fallback deserves a warning on this OS: on Linux the natives ship in the jar and
   * should load; elsewhere (a developer's macOS or Windows) epoll cannot exist and the fallback is
   * expected.
   */
  static boolean expectedToLoad(String osName) {
    return osName != null && osName.toLowerCase(Locale.ROOT).startsWith("linux");
  }

  /**
   * The message: what did not load and why, what runs instead, where Netty unpacks natives, and
   * the property that chooses the fallback on purpose (which silences the message).
   */
  static String message(String library, String fallback, Throwable cause, String tmpdir, String optOut) {
    return library + " did not load (" + describe(cause) + "); running on " + fallback
        + " instead, which costs more CPU than the configuration the benchmarks measured."
        + " Netty unpacks its native libraries into " + tmpdir
        + " (io.netty.native.workdir, else java.io.tmpdir), which must be writable and not mounted noexec"
        + " (on Kubernetes with readOnlyRootFilesystem: mount an emptyDir at /tmp)."
        + " To choose " + fallback + " on purpose, set " + optOut + ".";
  }

  /** Where Netty unpacks native libraries: {@code io.netty.native.workdir}, else {@code java.io.tmpdir}. */
  static String workdir() {
    return System.getProperty("io.netty.native.workdir", System.getProperty("java.io.tmpdir"));
  }

  /** The cause and its root cause, one line each joined, without stack traces. */
  static String describe(Throwable cause) {
    if (cause == null) {
      return "no reason given";
    }
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == cause ? cause.toString() : cause + "; caused by " + root;
  }
}
