package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The whole, validated configuration of one gateway instance: the YAML file of the README's
 * "Configuration walkthrough" ({@code config/gateway.yaml} is a runnable example).
 *
 * <p>Instances come only from {@link ConfigLoader}; every list is immutable and every reference
 * (a route's upstream, an allow list's consumer) has been checked. The top-level {@code plugins}
 * block has no field of its own: it is resolved into every route's {@link RouteConfig#plugins()},
 * which is what runs, what {@code GET /admin/routes} shows and what a reload compares.
 *
 * @param ioThreads event-loop threads serving listeners and upstream connections (0 = one per core)
 * @param logging log levels by logger ({@code logging.level})
 * @param models the model aliases ({@code models[]}) routes may serve
 * @param telemetry OpenTelemetry traces ({@code telemetry}); {@link TelemetryConfig#OFF} when absent
 * @param redacted the config as written, with every secret replaced by {@code "<redacted>"}, for
 *     {@code GET /admin/config}
 * @param pricing the top-level {@code pricing} list (USD per million tokens by model glob), in order
 */
public record GatewayConfig(
    List<ListenerConfig> listeners,
    AdminConfig admin,
    LimitsConfig limits,
    ShutdownConfig shutdown,
    int ioThreads,
    List<UpstreamConfig> upstreams,
    List<ConsumerConfig> consumers,
    List<RouteConfig> routes,
    LoggingConfig logging,
    List<ModelConfig> models,
    TelemetryConfig telemetry,
    JsonNode redacted,
    List<PriceConfig> pricing) {

  public GatewayConfig {
    listeners = List.copyOf(listeners);
    upstreams = List.copyOf(upstreams);
    consumers = List.copyOf(consumers);
    routes = List.copyOf(routes);
    models = List.copyOf(models);
    pricing = List.copyOf(pricing);
  }

  /** The upstream with this name; validation guarantees that routes only name existing ones. */
  public UpstreamConfig upstream(String name) {
    return upstreams.stream()
        .filter(u -> u.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no upstream " + name));
  }
}
