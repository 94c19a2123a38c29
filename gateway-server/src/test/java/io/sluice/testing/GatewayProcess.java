package io.sluice.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged {@code gateway.jar} run in its own JVM, as a user runs it: for tests of the command
 * line, exit codes, signals, and of memory under a small heap. The jar's path comes from the
 * {@code gateway.jar} system property that the failsafe plugin sets.
 */
public final class GatewayProcess implements AutoCloseable {
  private static final Pattern LISTENER = Pattern.compile("listener 'public' on http://[^:]+:(\\d+)");
  private static final Pattern ADMIN = Pattern.compile("admin on http://[^:]+:(\\d+)");

  private final Process process;
  private final List<String> output = new CopyOnWriteArrayList<>();
  private final CountDownLatch ready = new CountDownLatch(1);
  private volatile int port = -1;
  private volatile int adminPort = -1;

  private GatewayProcess(Path workDir, Map<String, String> env, List<String> jvmFlags, List<String> args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmFlags);
    command.add("-jar");
    command.add(jar());
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (workDir != null) {
      builder.directory(workDir.toFile());
    }
    builder.environment().putAll(env);
    process = builder.start();
    Thread reader = new Thread(this::readOutput, "gateway-process-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts the jar; {@link #awaitReady()} waits for the listeners. */
  public static GatewayProcess start(List<String> jvmFlags, String... args) throws IOException {
    return new GatewayProcess(null, Map.of(), jvmFlags, List.of(args));
  }

  /**
   * Starts the jar with these environment variables on top of the test's own, for configs that
   * read {@code ${ENV}} (a provider key, {@code MODEL_URL}).
   */
  public static GatewayProcess startWithEnv(Map<String, String> env, List<String> jvmFlags, String... args)
      throws IOException {
    return new GatewayProcess(null, env, jvmFlags, List.of(args));
  }

  /** Starts the jar in {@code workDir}, as the image does from its folder (relative paths in jvm.options). */
  public static GatewayProcess startIn(Path workDir, List<String> jvmFlags, String... args) throws IOException {
    return new GatewayProcess(workDir, Map.of(), jvmFlags, List.of(args));
  }

  public static String jar() {
    String jar = System.getProperty("gateway.jar");
    if (jar == null) {
      throw new IllegalStateException("run through failsafe: the gateway.jar property is not set");
    }
    return jar;
  }

  private void readOutput() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        output.add(line);
        line = line.replace("\\/", "/"); // JSON log lines escape slashes
        Matcher l = LISTENER.matcher(line);
        if (l.find()) {
          port = Integer.parseInt(l.group(1));
        }
        Matcher a = ADMIN.matcher(line);
        if (a.find()) {
          adminPort = Integer.parseInt(a.group(1));
          ready.countDown();
        }
      }
    } catch (IOException ignored) {
      // the process ended
    }
  }

  public GatewayProcess awaitReady() throws InterruptedException {
    if (!ready.await(30, TimeUnit.SECONDS)) {
      throw new AssertionError("gateway did not start:\n" + String.join("\n", output));
    }
    return this;
  }

  /** Waits (up to 30 s) for a line of output containing {@code text}, which may come before ready. */
  public GatewayProcess awaitLine(String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (output.stream().noneMatch(l -> l.contains(text))) {
      if (System.nanoTime() - deadline > 0 || !process.isAlive()) {
        throw new AssertionError("no line with '" + text + "':\n" + String.join("\n", output));
      }
      Thread.sleep(5);
    }
    return this;
  }

  public int port() {
    return port;
  }

  public int adminPort() {
    return adminPort;
  }

  /** Waits for the process to end (up to 30 s) and returns its exit code. */
  public int awaitExit() throws InterruptedException {
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("gateway did not exit:\n" + String.join("\n", output));
    }
    // let the reader thread drain the last lines
    for (int i = 0; i < 100 && outputStillOpen(); i++) {
      Thread.sleep(10);
    }
    return process.exitValue();
  }

  private boolean outputStillOpen() {
    try {
      return process.getInputStream().available() > 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Sends SIGTERM. */
  public void terminate() {
    process.destroy();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public String output() {
    return String.join("\n", output);
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
