package io.sluice.plugins.keyauth;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Makes {@code key-auth}: AUTHN phase, priority 1000.
 *
 * <pre>
 * key-auth: {}                      # any consumer with a valid key
 * key-auth: { allow: [alice, bob] } # only these consumers (others get 403)
 * </pre>
 */
public final class KeyAuthFactory implements PluginFactory<KeyAuthSettings> {
  public static final String NAME = "key-auth";
  public static final int PRIORITY = 1000;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Phase phase() {
    return Phase.AUTHN;
  }

  @Override
  public int priority() {
    return PRIORITY;
  }

  @Override
  public KeyAuthSettings parse(PluginSettings settings) {
    if (!settings.present()) {
      return new KeyAuthSettings(Set.of()); // "key-auth:" with nothing after it, same as {}
    }
    PluginSettings allowNode = settings.get("allow");
    settings.finish();
    if (!allowNode.present()) {
      return new KeyAuthSettings(Set.of());
    }
    List<PluginSettings> items = allowNode.list();
    if (items == null) {
      return null;
    }
    if (items.isEmpty()) {
      allowNode.problem("must not be empty (omit allow to accept every consumer)");
      return null;
    }
    Set<String> declared = new TreeSet<>(settings.consumerNames());
    Set<String> allow = new LinkedHashSet<>();
    boolean ok = true;
    for (PluginSettings item : items) {
      String name = item.present() ? item.nonEmptyString() : null;
      if (!item.present()) {
        item.problem("expected a consumer name");
      }
      if (name == null) {
        ok = false;
      } else if (!declared.contains(name)) {
        item.problem("'" + name + "' is not a declared consumer ("
            + (declared.isEmpty() ? "no consumers are declared" : "expected one of: " + String.join(", ", declared))
            + ")");
        ok = false;
      } else {
        allow.add(name);
      }
    }
    return ok ? new KeyAuthSettings(allow) : null;
  }

  @Override
  public Plugin create(KeyAuthSettings settings, PluginServices services) {
    return new KeyAuthPlugin(settings, services);
  }
}
