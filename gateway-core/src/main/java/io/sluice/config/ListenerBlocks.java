package io.sluice.config;

import static io.sluice.config.ConfigNode.or;

import io.sluice.net.CidrSet;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The config's listening sockets: the {@code listeners} (with their TLS certificates, checked now)
 * and the {@code admin} endpoint. Every address bound is remembered, so two of them fighting over
 * a port are named together rather than found at start-up.
 */
final class ListenerBlocks {
  /** Bound addresses, to name two listeners (or a listener and admin) fighting over a port. */
  private final List<Bind> binds = new ArrayList<>();

  private record Bind(String host, int port, String path) {}

  /** {@code listeners}: at least one, each with a unique name and a port. */
  List<ListenerConfig> listeners(ConfigNode node) {
    List<ConfigNode> items = node.required().nonEmptyItems();
    List<ListenerConfig> out = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    for (ConfigNode item : items) {
      MapReader m = item.mapItem();
      if (m == null) {
        continue;
      }
      String name = m.get("name").required().unique(names, "listener name");
      String host = or(m.get("host").nonEmptyString(), "0.0.0.0");
      ConfigNode portNode = m.get("port").required();
      Integer port = portNode.integer(0, 65535, "a port 0..65535");
      ConfigNode tlsNode = m.get("tls");
      TlsConfig tls = tls(tlsNode);
      // Default: h2 by ALPN on TLS listeners; h2c (prior knowledge) only when asked for.
      Boolean http2 = or(m.get("http2").bool(), tlsNode.present());
      boolean proxyProtocol = or(m.get("proxy-protocol").bool(), false);
      List<String> trusted = cidrs(m.get("trusted-proxies"));
      m.finish();
      if (port != null) {
        bind(host, port, portNode);
      }
      if (name != null && port != null && (tls != null || !tlsNode.present())) {
        out.add(new ListenerConfig(name, host, port, proxyProtocol, trusted, tls, http2));
      }
    }
    return out;
  }

  /**
   * {@code listeners[].tls}: the files are read and checked now, so {@code --check} reports an
   * unreadable file, a key in an unsupported form (encrypted, DSA, …), a key that does not match,
   * or an expired certificate. Relative paths resolve against the config file's folder, like
   * every other file the config names ({@code public-key}, {@code ${file:…}}), so a config and
   * its certificates move together whatever folder the gateway is started from.
   */
  private static TlsConfig tls(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return null;
    }
    ConfigNode certNode = m.get("certificate").required();
    ConfigNode keyNode = m.get("private-key").required();
    Path certPath = certNode.file();
    Path keyPath = keyNode.file();
    ConfigNode protocolsNode = m.get("protocols");
    List<String> protocols = new ArrayList<>();
    for (ConfigNode p : protocolsNode.stringItems()) {
      String name = p.nonEmptyString();
      if (name != null && !TlsConfig.ALLOWED_PROTOCOLS.contains(name)) {
        p.problem("expected one of: " + String.join(", ", TlsConfig.ALLOWED_PROTOCOLS) + " (got " + p.got()
            + "; older protocols are refused)");
      } else if (name != null && !protocols.contains(name)) {
        protocols.add(name);
      }
    }
    List<ConfigNode> listed = protocolsNode.list();
    if (listed != null && listed.isEmpty()) {
      protocolsNode.problem("must not be empty");
    }
    m.finish();
    if (certPath == null || keyPath == null) {
      return null;
    }
    boolean filesOk = true;
    try {
      PemFiles.certificates(certPath);
    } catch (PemFiles.PemException e) {
      certNode.problem(e.getMessage());
      filesOk = false;
    }
    try {
      PemFiles.privateKey(keyPath);
    } catch (PemFiles.PemException e) {
      keyNode.problem(e.getMessage());
      filesOk = false;
    }
    if (filesOk) {
      try {
        PemFiles.checkPair(certPath, keyPath, Instant.now());
      } catch (PemFiles.PemException e) {
        node.problem(e.getMessage());
        filesOk = false;
      }
    }
    return filesOk ? new TlsConfig(certPath, keyPath, protocols.isEmpty() ? List.of("TLSv1.3") : protocols) : null;
  }

  /** A list of IPv4/IPv6 networks, each checked. */
  private static List<String> cidrs(ConfigNode node) {
    List<String> out = new ArrayList<>();
    for (ConfigNode item : node.stringItems()) {
      String cidr = item.nonEmptyString();
      if (cidr != null) {
        String problem = CidrSet.problem(cidr);
        if (problem != null) {
          item.problem(problem);
        } else {
          out.add(cidr);
        }
      }
    }
    return out;
  }

  /** {@code admin}: loopback port 9901 when absent; a token is required off loopback. */
  AdminConfig admin(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      if (!node.present()) {
        bind("127.0.0.1", 9901, node);
        return new AdminConfig("127.0.0.1", 9901, null);
      }
      return null;
    }
    String host = or(m.get("host").nonEmptyString(), "127.0.0.1");
    ConfigNode portNode = m.get("port");
    Integer port = or(portNode.integer(0, 65535, "a port 0..65535"), portNode.present() ? null : 9901);
    ConfigNode tokenNode = m.get("token");
    String token = tokenNode.nonEmptyString();
    m.finish();
    if (!tokenNode.present() && !isLoopback(host)) {
      tokenNode.problem("required when admin.host is not a loopback address");
    }
    if (port == null) {
      return null;
    }
    bind(host, port, portNode.present() ? portNode : node);
    return new AdminConfig(host, port, token == null ? null : new Secret(token));
  }

  /** Records an address and names the earlier user of the same port, if any. */
  private void bind(String host, int port, ConfigNode at) {
    if (port == 0) {
      return; // ephemeral: never conflicts
    }
    for (Bind b : binds) {
      boolean overlap = b.host().equals(host) || isWildcard(b.host()) || isWildcard(host);
      if (b.port() == port && overlap) {
        at.problem("port " + port + " is already used by " + b.path());
        return;
      }
    }
    binds.add(new Bind(host, port, at.path().isEmpty() ? "admin" : at.path()));
  }

  private static boolean isWildcard(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
  }

  /**
   * Whether the admin host only accepts local connections. Decided from the text alone, without
   * DNS: a hostname other than {@code localhost} is treated as reachable from outside.
   */
  private static boolean isLoopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
      return h.startsWith("127.");
    }
    return h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
  }
}
