package io.sluice.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * A catalog of three plugins named like real ones ({@code jwt-auth}, {@code key-auth},
 * {@code rate-limit}) for the loader's own tests, which cannot see gateway-plugins. Each takes an
 * optional {@code allow} list of declared consumers, so a test can tell settings apart and see
 * consumer references checked; any other key is refused like a real plugin's.
 */
final class FakePluginCatalog implements PluginCatalog {
  static final FakePluginCatalog INSTANCE = new FakePluginCatalog();

  /** What {@link #parse} makes of one entry: its name and its {@code allow} list. */
  record FakePlugin(String name, List<String> settings) implements RoutePlugin {
    FakePlugin {
      settings = List.copyOf(settings);
    }

    static FakePlugin of(String name, String... allow) {
      return new FakePlugin(name, List.of(allow));
    }
  }

  @Override
  public Collection<String> names() {
    return List.of("jwt-auth", "key-auth", "rate-limit");
  }

  @Override
  public RoutePlugin parse(String name, PluginSettings settings) {
    if (!names().contains(name)) {
      throw new IllegalArgumentException("unknown plugin '" + name + "'");
    }
    if (!settings.present()) {
      return FakePlugin.of(name);
    }
    PluginSettings allowNode = settings.get("allow");
    settings.finish();
    List<String> allow = new ArrayList<>();
    List<PluginSettings> items = allowNode.list();
    boolean ok = items != null || !allowNode.present();
    for (PluginSettings item : items == null ? List.<PluginSettings>of() : items) {
      String consumer = item.nonEmptyString();
      if (consumer == null) {
        ok = false;
      } else if (!settings.consumerNames().contains(consumer)) {
        item.problem("'" + consumer + "' is not a declared consumer (expected one of: "
            + String.join(", ", new TreeSet<>(settings.consumerNames())) + ")");
        ok = false;
      } else {
        allow.add(consumer);
      }
    }
    return ok ? new FakePlugin(name, allow) : null;
  }
}
