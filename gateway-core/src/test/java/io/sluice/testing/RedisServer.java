package io.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} for a test: its own free port and temporary folder, no persistence,
 * stopped by {@link #close}. Skips the test when the program is missing locally, fails it when
 * {@code CI=true} ({@link SystemBinary}). {@link #kill} and {@link #restart} simulate an outage on
 * the same port.
 */
public final class RedisServer implements AutoCloseable {
  private final Path binary;
  private final Path dir;
  private final int port;
  private Process process;

  private RedisServer(Path binary, Path dir, int port) {
    this.binary = binary;
    this.dir = dir;
    this.port = port;
  }

  public static RedisServer start() throws IOException, InterruptedException {
    Path binary = SystemBinary.require("redis-server");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    RedisServer server = new RedisServer(binary, Files.createTempDirectory("sluice-redis"), port);
    server.launch();
    return server;
  }

  public int port() {
    return port;
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  public void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  /** Starts the server again on the same port (empty: it kept nothing). */
  public void restart() throws IOException, InterruptedException {
    kill();
    launch();
  }

  /** Sends one command (inline protocol); returns the reply line, or a bulk reply's value (null when nil). */
  public String command(String line) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(2000);
      OutputStream out = s.getOutputStream();
      out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      String first = line(in);
      if (first.startsWith("$")) {
        return first.equals("$-1") ? null : line(in);
      }
      return first;
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    return sb.toString();
  }

  private void launch() throws IOException, InterruptedException {
    process = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--daemonize", "no", "--loglevel", "warning"))
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try {
        if ("+PONG".equals(command("PING"))) {
          return;
        }
      } catch (IOException notYet) {
        // starting
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("redis-server did not answer on port " + port);
  }

  @Override
  public void close() throws IOException, InterruptedException {
    kill();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
