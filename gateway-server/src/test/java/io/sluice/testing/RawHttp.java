package io.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately plain HTTP/1.1 client on a raw socket, for asserting exact wire text: what the
 * gateway sends, byte for byte, chunk by chunk, and when. Reads time out after 10 s.
 */
public final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final StringBuilder body = new StringBuilder();
  /** The same body bytes undecoded, for binary (gzipped) bodies. */
  private final ByteArrayOutputStream rawBody = new ByteArrayOutputStream();
  private boolean chunked;
  private long remaining = -1; // content-length left, or -1
  private boolean bodyDone;

  private RawHttp(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  public static RawHttp connect(int port) throws IOException {
    return new RawHttp(new Socket("127.0.0.1", port));
  }

  /** Over a socket the caller opened (a TLS socket, for instance). */
  public static RawHttp over(Socket socket) throws IOException {
    return new RawHttp(socket);
  }

  /** A socket with a small receive buffer, for clients that stop reading. */
  public static RawHttp connectSmallBuffer(int port, int receiveBuffer) throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(receiveBuffer);
    s.connect(new InetSocketAddress("127.0.0.1", port));
    return new RawHttp(s);
  }

  public RawHttp send(String raw) throws IOException {
    out.write(raw.getBytes(StandardCharsets.UTF_8));
    out.flush();
    return this;
  }

  /** {@code POST path} with a JSON body. */
  public RawHttp post(String path, String json, String... extraHeaders) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    StringBuilder req = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: gateway.test\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n");
    for (String h : extraHeaders) {
      req.append(h).append("\r\n");
    }
    req.append("\r\n").append(json);
    return send(req.toString());
  }

  /** The status line and headers of the next response. */
  public Head readHead() throws IOException {
    String statusLine = readLine();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    Map<String, String> headers = new LinkedHashMap<>();
    String line;
    while ((line = readLine()) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.merge(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim(), (a, b) -> a + ", " + b);
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
    remaining = headers.containsKey("content-length") ? Long.parseLong(headers.get("content-length")) : -1;
    bodyDone = status == 204 || status == 304 || remaining == 0;
    body.setLength(0);
    rawBody.reset();
    return new Head(status, headers);
  }

  /** The status and headers of a response. */
  public record Head(int status, Map<String, String> headers) {
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /** Reads body text until it contains {@code marker}; returns everything read up to and including it. */
  public String readUntil(String marker) throws IOException {
    while (body.indexOf(marker) < 0) {
      if (!readMore()) {
        throw new IOException("body ended before '" + marker + "'; got: " + body);
      }
    }
    int end = body.indexOf(marker) + marker.length();
    String text = body.substring(0, end);
    body.delete(0, end);
    return text;
  }

  /** Reads the rest of the body (to the last chunk, content-length, or close). */
  public String readToEnd() throws IOException {
    while (readMore()) {
      // keep reading
    }
    String text = body.toString();
    body.setLength(0);
    return text;
  }

  /**
   * The body's bytes as they arrive (chunk framing removed), for decoding a binary stream while
   * it is still open; reads block until bytes come or the body ends.
   */
  public java.io.InputStream bodyStream() {
    return new java.io.InputStream() {
      private byte[] pending = new byte[0];
      private int at;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        while (at == pending.length) {
          if (rawBody.size() == 0 && !readMore()) {
            return -1;
          }
          pending = rawBody.toByteArray();
          rawBody.reset();
          body.setLength(0);
          at = 0;
        }
        int n = Math.min(len, pending.length - at);
        System.arraycopy(pending, at, b, off, n);
        at += n;
        return n;
      }
    };
  }

  /** Reads the rest of the body and returns its bytes as received (everything since the head). */
  public byte[] readToEndBytes() throws IOException {
    readToEnd();
    byte[] bytes = rawBody.toByteArray();
    rawBody.reset();
    return bytes;
  }

  /** True when the body ended with the terminating chunk (a clean end), after reading it all. */
  public boolean endedCleanly() {
    return bodyDone;
  }

  /** True when response bytes are waiting to be read (never blocks). */
  public boolean hasData() throws IOException {
    return body.length() > 0 || in.available() > 0;
  }

  /**
   * True when response bytes arrive within {@code wait}; for asserting that nothing was sent yet
   * (a false answer waited the whole time, so it cannot come from a slow machine).
   */
  public boolean hasDataWithin(java.time.Duration wait) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!hasData()) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  /** True when the gateway closed the connection (EOF) within the read timeout. */
  public boolean closedByPeer() throws IOException {
    try {
      return in.read() < 0;
    } catch (SocketException e) {
      return true; // reset
    }
  }

  private boolean readMore() throws IOException {
    if (bodyDone) {
      return false;
    }
    if (chunked) {
      String sizeLine = readLine();
      if (sizeLine == null) {
        return false; // closed mid-body: not a clean end
      }
      int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
      if (size == 0) {
        String trailer;
        while ((trailer = readLine()) != null && !trailer.isEmpty()) {
          // trailers are ignored
        }
        bodyDone = true;
        return false;
      }
      byte[] data = in.readNBytes(size);
      if (data.length < size) {
        return false;
      }
      readLine();
      body.append(new String(data, StandardCharsets.UTF_8));
      rawBody.writeBytes(data);
      return true;
    }
    byte[] buf = new byte[8192];
    int max = remaining < 0 ? buf.length : (int) Math.min(buf.length, remaining);
    int n = in.read(buf, 0, max);
    if (n < 0) {
      bodyDone = remaining < 0;
      return false;
    }
    body.append(new String(buf, 0, n, StandardCharsets.UTF_8));
    rawBody.write(buf, 0, n);
    if (remaining > 0) {
      remaining -= n;
      if (remaining == 0) {
        bodyDone = true;
      }
    }
    return true;
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, len, StandardCharsets.UTF_8);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
