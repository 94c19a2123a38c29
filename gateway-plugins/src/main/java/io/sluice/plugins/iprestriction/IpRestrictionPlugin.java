package io.sluice.plugins.iprestriction;

import io.sluice.net.CidrSet;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Refuses clients by address: 403 {@code permission_error} / {@code ip_denied}.
 *
 * <p>Rule: an address in {@code deny} is refused; else, when {@code allow} is not empty, an
 * address outside it is refused; else it passes. The address is {@link RequestContext#clientIp()}
 * as core resolved it (peer, PROXY protocol, trusted {@code X-Forwarded-For}). An address that
 * cannot be read as IPv4/IPv6 is refused (fail closed: it cannot be shown not to be denied).
 *
 * <p>Lookups walk a prefix trie ({@link CidrSet}): at most 32 or 128 steps whatever the list
 * sizes. Immutable, shared by all event loops.
 */
final class IpRestrictionPlugin implements Plugin {
  /** Every IPv4 and IPv6 address: {@code contains} is false only for text that is not an address. */
  private static final CidrSet ANY_ADDRESS = CidrSet.of(List.of("0.0.0.0/0", "::/0"));

  private final CidrSet allow;
  private final CidrSet deny;
  private final PluginServices services;

  IpRestrictionPlugin(CidrSet allow, CidrSet deny, PluginServices services) {
    this.allow = allow;
    this.deny = deny;
    this.services = services;
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    String ip = withoutZone(request.clientIp());
    if (allowed(ip)) {
      return Decision.proceed();
    }
    services.authFailure(request.route(), IpRestrictionFactory.NAME, "ip_denied");
    return Decision.reject(403, "permission_error", "ip_denied",
        "the client address is not allowed on this route");
  }

  /** Deny wins; an empty allow list allows every (readable) address. */
  boolean allowed(String ip) {
    if (ip == null || !ANY_ADDRESS.contains(ip) || deny.contains(ip)) {
      return false;
    }
    return allow.isEmpty() || allow.contains(ip);
  }

  /** {@code fe80::1%eth0} → {@code fe80::1}: a scope id says which interface, not which host. */
  private static String withoutZone(String ip) {
    if (ip == null) {
      return null;
    }
    int zone = ip.indexOf('%');
    return zone < 0 ? ip : ip.substring(0, zone);
  }
}
