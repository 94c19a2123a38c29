package io.sluice.testing;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * A plugin for tests of the chain and the gateway: it records its calls into a list — its name
 * on the request (with the body when it needs it: {@code name:body}), {@code done:name:status} on
 * completion — and answers what the test tells it.
 */
public final class RecordingPlugin {
  private RecordingPlugin() {}

  public static PluginFactory<Object> factory(String name, Phase phase, int priority, boolean needsBody,
      List<String> calls, Function<RequestContext, CompletionStage<Decision>> answer) {
    return new PluginFactory<>() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Phase phase() {
        return phase;
      }

      @Override
      public int priority() {
        return priority;
      }

      @Override
      public boolean needsBody() {
        return needsBody;
      }

      @Override
      public Object parse(PluginSettings settings) {
        return name;
      }

      @Override
      public Plugin create(Object settings, PluginServices services) {
        return new Plugin() {
          @Override
          public CompletionStage<Decision> onRequest(RequestContext request) {
            calls.add(name + (needsBody ? ":" + new String(request.body(), StandardCharsets.UTF_8) : ""));
            return answer.apply(request);
          }

          @Override
          public void onComplete(RequestContext request, ExchangeSummary summary) {
            calls.add("done:" + name + ":" + summary.status());
          }
        };
      }
    };
  }
}
