package io.sluice.admin;

import io.sluice.config.GatewayConfig;
import io.sluice.observe.GatewayMetrics;
import io.sluice.plugin.PluginChain;
import io.sluice.upstream.Upstreams;
import java.util.List;

/** What the admin endpoints read and do; always the running config, also after a reload. */
public interface AdminView {
  GatewayConfig config();

  Upstreams upstreams();

  PluginChain chain(String route);

  GatewayMetrics metrics();

  /** Config loaded and listeners bound, and not draining. */
  boolean ready();

  /** Re-reads the config file and applies it, or keeps the old one. */
  ReloadResult reload();

  /** The outcome of a reload, as {@code POST /admin/reload} returns it. */
  record ReloadResult(boolean applied, List<String> errors) {
    public static ReloadResult success() {
      return new ReloadResult(true, List.of());
    }

    public static ReloadResult rejected(List<String> errors) {
      return new ReloadResult(false, List.copyOf(errors));
    }
  }
}
