package io.sluice.soak;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A lean blocking HTTP/1.1 client connection for the soak: sends a request, reads a response
 * head, then the body line by line (chunked or Content-Length), and can be dropped with a FIN or
 * an RST at any point. Buffered, so a million events do not cost a million system calls.
 */
final class HttpConn implements Closeable {
  private final Socket socket;
  private final BufferedInputStream in;
  private final OutputStream out;
  private boolean chunked;
  private long left; // bytes left in the current chunk, or of a Content-Length body
  private boolean bodyDone;
  private boolean reusable;

  private HttpConn(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
    this.out = socket.getOutputStream();
  }

  static HttpConn open(int port, int readTimeoutMillis) throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.setSoTimeout(readTimeoutMillis);
    s.connect(new InetSocketAddress("127.0.0.1", port), readTimeoutMillis);
    return new HttpConn(s);
  }

  void send(String head, byte[] body) throws IOException {
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[h.length + body.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(body, 0, all, h.length, body.length);
    out.write(all);
    out.flush();
  }

  /** The status and headers (lower-case names) of a response head. */
  record Head(int status, Map<String, String> headers) {}

  Head readHead() throws IOException {
    String statusLine = rawLine();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    Map<String, String> headers = new HashMap<>();
    String line;
    while ((line = rawLine()) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
    left = chunked ? 0 : Long.parseLong(headers.getOrDefault("content-length", "-1"));
    bodyDone = !chunked && left == 0;
    reusable = statusLine.startsWith("HTTP/1.1") && !"close".equalsIgnoreCase(headers.get("connection"))
        && (chunked || left >= 0);
    return new Head(status, headers);
  }

  /** The next line of the body without its line end; null at the body's clean end. */
  String bodyLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    int b;
    while ((b = bodyByte()) >= 0) {
      if (b == '\n') {
        return line.toString(StandardCharsets.UTF_8);
      }
      line.write(b);
    }
    if (line.size() > 0) {
      throw new IOException("body ended inside a line: " + line.toString(StandardCharsets.UTF_8));
    }
    return null;
  }

  /** The rest of the body. */
  String rest() throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    int b;
    while ((b = bodyByte()) >= 0) {
      all.write(b);
    }
    return all.toString(StandardCharsets.UTF_8);
  }

  /** True when the body ended with its terminator (a last chunk, or all of its Content-Length). */
  boolean endedCleanly() {
    return bodyDone;
  }

  /** Whether the next request may go on this connection. */
  boolean reusable() {
    return bodyDone && reusable && !socket.isClosed();
  }

  /** Gone without a word: a FIN, or an RST when {@code reset}. */
  void drop(boolean reset) {
    try {
      if (reset) {
        socket.setSoLinger(true, 0);
      }
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }

  @Override
  public void close() {
    drop(false);
  }

  private int bodyByte() throws IOException {
    if (bodyDone) {
      return -1;
    }
    if (chunked) {
      if (left == 0) {
        String size = rawLine();
        if (size == null) {
          throw new IOException("connection closed between chunks (no last chunk)");
        }
        left = Long.parseLong(size.split(";")[0].trim(), 16);
        if (left == 0) {
          String trailer;
          while ((trailer = rawLine()) != null && !trailer.isEmpty()) {
            // no trailers expected
          }
          bodyDone = true;
          return -1;
        }
      }
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed inside a chunk");
      }
      if (--left == 0) {
        rawLine(); // the CRLF after the chunk's data
      }
      return b;
    }
    if (left == 0) {
      bodyDone = true;
      return -1;
    }
    int b = in.read();
    if (b < 0) {
      if (left < 0) {
        bodyDone = true; // delimited by close
        return -1;
      }
      throw new IOException("connection closed before Content-Length was read");
    }
    if (left > 0) {
      left--;
    }
    return b;
  }

  private String rawLine() throws IOException {
    StringBuilder line = new StringBuilder(32);
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        int n = line.length();
        return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
      }
      line.append((char) b);
    }
    return line.length() == 0 ? null : line.toString();
  }
}
