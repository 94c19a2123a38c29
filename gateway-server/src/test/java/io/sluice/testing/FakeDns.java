package io.sluice.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A DNS server on loopback UDP for tests: answers {@code A} queries for the names it knows with
 * their address, everything else with NXDOMAIN (or an empty answer for a known name's other
 * record types), and records every name it was asked. With the gateway's resolver pinned to it
 * ({@code sluice.dns.servers}), no lookup leaves the machine.
 */
public final class FakeDns implements AutoCloseable {
  private final DatagramSocket socket;
  private final Map<String, byte[]> names;
  private final List<String> queries = new CopyOnWriteArrayList<>();
  private final Thread thread;

  /** @param names lower-case host name → IPv4 address */
  public FakeDns(Map<String, String> names) throws IOException {
    this.names = new HashMap<>();
    for (Map.Entry<String, String> e : names.entrySet()) {
      this.names.put(e.getKey(), InetAddress.getByName(e.getValue()).getAddress());
    }
    socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    thread = new Thread(this::serve, "fake-dns");
    thread.setDaemon(true);
    thread.start();
  }

  /** {@code 127.0.0.1:port}, the value for {@code sluice.dns.servers}. */
  public String address() {
    return "127.0.0.1:" + socket.getLocalPort();
  }

  /** Every name asked so far, in order. */
  public List<String> queries() {
    return List.copyOf(queries);
  }

  private void serve() {
    byte[] buf = new byte[1500];
    while (!socket.isClosed()) {
      DatagramPacket packet = new DatagramPacket(buf, buf.length);
      try {
        socket.receive(packet);
        byte[] reply = answer(ByteBuffer.wrap(packet.getData(), 0, packet.getLength()));
        socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
      } catch (IOException | RuntimeException e) {
        // closed, or a packet we cannot read: ignore it
      }
    }
  }

  private byte[] answer(ByteBuffer query) {
    short id = query.getShort(0);
    short flags = query.getShort(2);
    // The question: labels from offset 12 to a zero byte, then type and class.
    int p = 12;
    StringBuilder name = new StringBuilder();
    while (query.get(p) != 0) {
      int len = query.get(p) & 0xff;
      name.append(name.length() == 0 ? "" : ".")
          .append(new String(query.array(), query.arrayOffset() + p + 1, len, StandardCharsets.US_ASCII));
      p += len + 1;
    }
    int questionEnd = p + 5;
    int type = query.getShort(p + 1) & 0xffff;
    String host = name.toString().toLowerCase(Locale.ROOT);
    queries.add(host);
    byte[] address = names.get(host);
    boolean answerIt = address != null && type == 1;
    int rcode = address == null ? 3 : 0;
    ByteBuffer out = ByteBuffer.allocate(questionEnd + (answerIt ? 16 : 0));
    out.putShort(id);
    out.putShort((short) (0x8000 | (flags & 0x0100) | 0x0080 | rcode)); // QR, RD copied, RA
    out.putShort((short) 1).putShort((short) (answerIt ? 1 : 0)).putShort((short) 0).putShort((short) 0);
    out.put(query.array(), query.arrayOffset() + 12, questionEnd - 12);
    if (answerIt) {
      out.putShort((short) 0xC00C).putShort((short) 1).putShort((short) 1).putInt(1).putShort((short) 4).put(address);
    }
    return out.array();
  }

  @Override
  public void close() throws InterruptedException {
    socket.close();
    thread.join(5_000);
  }
}
