package io.sluice.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.sluice.exchange.Exchange;
import io.sluice.plugin.Decision;
import io.sluice.usage.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The end of an exchange: metrics, the access-log line and the plugins' completion hooks, once. */
class ExchangeEndingTest {
  private final List<String> calls = new ArrayList<>();
  private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("sluice.access");
  private GatewayFixture gateway;
  private IncomingRequest request;

  @BeforeEach
  void start() throws Exception {
    gateway = new GatewayFixture("""
        upstreams:
          - name: models
            endpoints: [ { url: "http://127.0.0.1:9" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat }
            upstream: models
            plugins: { meter: {} }
        """, GatewayFixture.plugin("meter", false, calls, r -> {
          r.consumer("alice");
          return CompletableFuture.completedFuture(Decision.PROCEED);
        }));
    accessLog.start();
    access.addAppender(accessLog);
  }

  @AfterEach
  void stop() {
    access.detachAppender(accessLog);
    if (request != null) {
      request.release();
    }
    gateway.close();
  }

  private Admission admitted(Exchange exchange) {
    request = new IncomingRequest(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat"),
        "/v1/chat", "", ByteBufAllocator.DEFAULT);
    request.markComplete();
    Admission admission = new Admission(gateway.context, exchange, request, ImmediateEventExecutor.INSTANCE,
        ByteBufAllocator.DEFAULT, new Admission.Outcome() {
          @Override
          public void refused(FullHttpResponse response) {
            response.release();
          }

          @Override
          public void sendContinue() {}

          @Override
          public void admitted() {}
        });
    admission.start();
    return admission;
  }

  private double counted(String name, String... tags) {
    var counter = gateway.metrics.registry().find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void countsTheRequestAndItsTokensLogsOneLineAndTellsThePluginsThatSawIt() throws Exception {
    Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/v1/chat", System.nanoTime());
    ExchangeEnding ending = new ExchangeEnding(gateway.context, exchange, Runnable::run);
    ending.admission(admitted(exchange));
    ending.usage(reported(new Usage(12, 30, 0, 0, "gpt-x", false)));
    exchange.status(200);

    ending.run();
    ending.run(); // whichever way an exchange ends, it ends once

    assertThat(counted("sluice.requests", "route", "chat", "status", "200")).isEqualTo(1);
    assertThat(counted("sluice.tokens", "route", "chat", "consumer", "alice", "type", "input")).isEqualTo(12);
    assertThat(counted("sluice.tokens", "route", "chat", "consumer", "alice", "type", "output")).isEqualTo(30);
    assertThat(accessLog.list).singleElement().extracting(ILoggingEvent::getFormattedMessage).asString()
        .contains("request_id=0123456789abcdef0123456789abcdef", "route=chat", "consumer=alice", "status=200",
            "tokens_in=12", "tokens_out=30");
    assertThat(calls).containsExactly("meter", "done:meter:200");
  }

  /**
   * The first estimate of a process waits for the tokenizer's vocabulary: the ending is not written
   * until the usage can be read, then once, on the exchange's loop, with that usage.
   */
  @Test
  void anEndingWhoseUsageWaitsForTheTokenizerEndsWhenItIsThereAndOnce() throws Exception {
    Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/v1/chat", System.nanoTime());
    List<Runnable> loop = new ArrayList<>();
    List<Runnable> waiting = new ArrayList<>();
    ExchangeEnding ending = new ExchangeEnding(gateway.context, exchange, loop::add);
    ending.admission(admitted(exchange));
    ending.usage(new ExchangeEnding.UsageSource() {
      @Override
      public Usage usage() {
        return new Usage(7, 3, 0, 0, "gpt-x", true);
      }

      @Override
      public void whenUsageReady(Executor executor, Runnable task) {
        waiting.add(() -> executor.execute(task));
      }
    });
    exchange.status(200);

    ending.run();
    ending.run();
    assertThat(counted("sluice.requests", "route", "chat", "status", "200")).isZero();
    assertThat(accessLog.list).isEmpty();
    assertThat(calls).as("admitted, not completed").containsExactly("meter");

    assertThat(waiting).hasSize(1);
    waiting.get(0).run(); // the vocabulary is there
    assertThat(accessLog.list).as("runs on the exchange's loop").isEmpty();
    assertThat(loop).hasSize(1);
    loop.get(0).run();
    assertThat(counted("sluice.requests", "route", "chat", "status", "200")).isEqualTo(1);
    assertThat(counted("sluice.tokens", "route", "chat", "consumer", "alice", "type", "input")).isEqualTo(7);
    assertThat(accessLog.list).singleElement().extracting(ILoggingEvent::getFormattedMessage).asString()
        .contains("tokens_in=7", "tokens_out=3");
    assertThat(calls).containsExactly("meter", "done:meter:200");
  }

  /**
   * What the usage kept to estimate it (the answer's text in pooled memory) is freed once the
   * ending has read it, exactly once: at once for the usual ending, and only after the usage was
   * read for one that waited for the tokenizer.
   */
  @Test
  void releasesWhatTheUsageKeptOnceTheEndingHasReadIt() throws Exception {
    for (boolean waits : new boolean[] {false, true}) {
      calls.clear();
      Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/v1/chat",
          System.nanoTime());
      List<String> source = new ArrayList<>();
      List<Runnable> waiting = new ArrayList<>();
      ExchangeEnding ending = new ExchangeEnding(gateway.context, exchange, Runnable::run);
      ending.admission(admitted(exchange));
      ending.usage(new ExchangeEnding.UsageSource() {
        @Override
        public Usage usage() {
          source.add("usage");
          return new Usage(7, 3, 0, 0, "gpt-x", true);
        }

        @Override
        public boolean usageReady() {
          return !waits;
        }

        @Override
        public void whenUsageReady(Executor executor, Runnable task) {
          waiting.add(() -> executor.execute(task));
        }

        @Override
        public void release() {
          source.add("release");
        }
      });
      exchange.status(200);

      ending.run();
      ending.run();
      if (waits) {
        assertThat(source).as("nothing freed before the usage was read").isEmpty();
        waiting.get(0).run();
      }
      assertThat(source).as(waits ? "after the wait" : "at once").containsExactly("usage", "release");
      assertThat(calls).containsExactly("meter", "done:meter:200");
    }
  }

  private static ExchangeEnding.UsageSource reported(Usage usage) {
    return new ExchangeEnding.UsageSource() {
      @Override
      public Usage usage() {
        return usage;
      }

      @Override
      public void whenUsageReady(Executor loop, Runnable task) {
        task.run();
      }
    };
  }

  @Test
  void aRequestNoPluginSawEndsWithoutCompletionHooks() throws Exception {
    Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "GET", "/nowhere", System.nanoTime());
    exchange.status(404);
    new ExchangeEnding(gateway.context, exchange, Runnable::run).run();
    assertThat(counted("sluice.requests", "status", "404")).isEqualTo(1);
    assertThat(accessLog.list).hasSize(1);
    assertThat(calls).isEmpty();
  }
}
