package io.sluice.plugins.iprestriction;

import io.sluice.config.PluginSettings;
import io.sluice.net.CidrSet;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes {@code ip-restriction}: ACCESS phase, priority 1000 — after {@code cors} (2000), so a
 * browser can read the 403 body and a preflight is answered by CORS policy alone.
 *
 * <pre>
 * ip-restriction: { allow: [127.0.0.0/8, "2001:db8::/32"], deny: [10.6.6.0/24] }
 * </pre>
 */
public final class IpRestrictionFactory implements PluginFactory<IpRestrictionSettings> {
  public static final String NAME = "ip-restriction";
  public static final int PRIORITY = 1000;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Phase phase() {
    return Phase.ACCESS;
  }

  @Override
  public int priority() {
    return PRIORITY;
  }

  @Override
  public IpRestrictionSettings parse(PluginSettings settings) {
    if (!settings.present()) {
      settings.problem("expected a map with allow and/or deny (lists of IPv4/IPv6 networks)");
      return null;
    }
    PluginSettings allowNode = settings.get("allow");
    PluginSettings denyNode = settings.get("deny");
    settings.finish();
    List<String> allow = networks(allowNode);
    List<String> deny = networks(denyNode);
    if (allow == null || deny == null) {
      return null;
    }
    if (!allowNode.present() && !denyNode.present()) {
      settings.problem("needs allow or deny (a list of IPv4/IPv6 networks); with neither it would let everyone in");
      return null;
    }
    return new IpRestrictionSettings(allow, deny);
  }

  /** The list's networks; null when an entry is bad (each bad entry is reported at its index). */
  private static List<String> networks(PluginSettings node) {
    List<String> out = new ArrayList<>();
    if (!node.present()) {
      return out;
    }
    List<PluginSettings> items = node.list();
    if (items == null) {
      return null;
    }
    boolean ok = true;
    for (PluginSettings item : items) {
      String text = item.present() ? item.nonEmptyString() : null;
      if (!item.present()) {
        item.problem("expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32");
      }
      if (text == null) {
        ok = false;
        continue;
      }
      String problem = CidrSet.problem(text);
      if (problem != null) {
        item.problem(problem);
        ok = false;
        continue;
      }
      out.add(text.trim());
    }
    return ok ? out : null;
  }

  @Override
  public Plugin create(IpRestrictionSettings settings, PluginServices services) {
    return new IpRestrictionPlugin(CidrSet.of(settings.allow()), CidrSet.of(settings.deny()), services);
  }
}
