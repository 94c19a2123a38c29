package io.sluice.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;

/** Reads the top-level {@code telemetry} block into a {@link TelemetryConfig}. */
final class TelemetryBlock {
  private TelemetryBlock() {}

  /** The block, or {@link TelemetryConfig#OFF} when absent; null after a reported problem. */
  static TelemetryConfig read(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return node.present() ? null : TelemetryConfig.OFF;
    }
    ConfigNode endpointNode = m.get("otlp-endpoint").required();
    URI endpoint = endpoint(endpointNode);
    ConfigNode ratioNode = m.get("sample-ratio");
    Double ratio = ratioNode.fraction();
    String service = m.get("service-name").nonEmptyString();
    Integer queue = m.get("queue-size").integer(1, 1_000_000, null);
    Duration delay = m.get("export-delay").positiveDuration();
    m.finish();
    if (endpoint == null || ratioNode.present() && ratio == null) {
      return null;
    }
    TelemetryConfig d = TelemetryConfig.OFF;
    return new TelemetryConfig(endpoint, ratio == null ? d.sampleRatio() : ratio,
        service == null ? d.serviceName() : service, queue == null ? d.queueSize() : queue,
        delay == null ? d.exportDelay() : delay);
  }

  private static URI endpoint(ConfigNode node) {
    String s = node.nonEmptyString();
    if (s == null) {
      return null;
    }
    try {
      URI uri = new URI(s);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && uri.getQuery() == null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    node.problem("expected an http:// or https:// URL of an OTLP/HTTP collector, e.g. http://collector:4318 (got "
        + node.got() + ")");
    return null;
  }
}
