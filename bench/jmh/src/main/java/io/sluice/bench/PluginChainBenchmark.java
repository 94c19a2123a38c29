package io.sluice.bench;

import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.RoutePlugin;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.usage.Usage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request cost of the plugin chain of bench/run's "plugins" scenario (bench/sluice-plugins.yaml:
 * ip-restriction, jwt-auth with an RS256 public key, ai-token-ratelimit with one local rule), each
 * plugin alone and the whole chain, through the plugin SPI as the gateway calls it: request hooks,
 * then response-header hooks, then {@code onComplete}. Next to the relay's per-request CPU in the
 * scenario (about a millisecond per 100-token stream) this says what share the plugins are.
 *
 * <p>{@code alg}: RS256 is what bench/run uses (an identity provider's key pair); HS256 (a shared
 * 32-byte secret) is there for comparison, since signature verification is jwt-auth's main cost.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PluginChainBenchmark {
  private static final String SECRET = "0123456789abcdef0123456789abcdef-bench-secret";

  @Param({"RS256", "HS256"})
  public String alg;

  private final Map<String, Plugin> plugins = new HashMap<>();
  private Plugin[] chain;
  private TokenLimitBenchmark.Request request;
  private TokenLimitBenchmark.Headers headers;
  private ExchangeSummary summary;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair keys = g.generateKeyPair();
    Path dir = Files.createTempDirectory("sluice-jmh");
    Path pub = dir.resolve("jwt-rs256.pub.pem");
    Files.writeString(pub, "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(keys.getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    pub.toFile().deleteOnExit();
    dir.toFile().deleteOnExit();
    String yaml = "listeners: [ { name: public, port: 8080 } ]\n"
        + "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n"
        + "consumers: [ { name: bench, jwt-claim-value: bench } ]\n"
        + "routes:\n  - name: chat\n    match: { path-prefix: /v1/chat/completions }\n    upstream: chat-pool\n"
        + "    plugins:\n"
        + "      ip-restriction: { allow: [127.0.0.0/8, '::1'], deny: [10.6.6.0/24] }\n"
        + "      jwt-auth: { issuer: sluice-bench, audiences: [sluice], consumer-claim: sub,\n"
        + "                  keys: [ " + ("RS256".equals(alg)
            ? "{ public-key: '" + pub + "', algorithm: RS256 }"
            : "{ algorithm: HS256, secret: '" + SECRET + "' }") + " ] }\n"
        + "      ai-token-ratelimit: { rules: [ { limit-by: consumer, tokens-per-day: 1000000000000 } ], store: local }\n";
    GatewayConfig config = new ConfigLoader(k -> null, PluginRegistry.load()).parse(yaml, null);
    TokenLimitBenchmark.Services services = new TokenLimitBenchmark.Services(config.consumers());
    for (RoutePlugin p : config.routes().get(0).plugins()) {
      plugins.put(p.name(), ConfiguredPlugin.of(p).create(services));
    }
    // Phase order: ACCESS, AUTHN, TRAFFIC.
    chain = new Plugin[] {plugins.get("ip-restriction"), plugins.get("jwt-auth"), plugins.get("ai-token-ratelimit")};
    request = new TokenLimitBenchmark.Request(TokenLimitBenchmark.shortBody().getBytes(StandardCharsets.UTF_8))
        .header("Authorization", "Bearer " + token(keys, alg));
    headers = new TokenLimitBenchmark.Headers();
    summary = new ExchangeSummary(200, "ok", 1_000_000, new Usage(12, 100, 0, 0, "sluice-mock-1", false));
    for (Plugin p : chain) {
      Decision d = p.onRequest(request).toCompletableFuture().join();
      if (!(d instanceof Decision.Proceed)) {
        throw new IllegalStateException("the bench request is refused: " + d);
      }
      p.onComplete(request, summary);
    }
  }

  /** A token like the one bench/run mints (iss sluice-bench, aud sluice, sub bench). */
  private static String token(KeyPair keys, String alg) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    long now = System.currentTimeMillis() / 1000;
    String signed = b64.encodeToString(("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}").getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"iss\":\"sluice-bench\",\"aud\":\"sluice\",\"sub\":\"bench\",\"iat\":" + now
            + ",\"exp\":" + (now + 86_400) + "}").getBytes(StandardCharsets.UTF_8));
    if ("HS256".equals(alg)) {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return signed + "." + b64.encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.US_ASCII)));
    }
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(keys.getPrivate());
    s.update(signed.getBytes(StandardCharsets.US_ASCII));
    return signed + "." + b64.encodeToString(s.sign());
  }

  private Object cycle(Plugin p) {
    Decision d = p.onRequest(request).toCompletableFuture().join();
    p.onResponseHeaders(request, 200, headers);
    p.onComplete(request, summary);
    return d;
  }

  @Benchmark
  public Object ipRestriction() {
    return cycle(chain[0]);
  }

  @Benchmark
  public Object jwtAuth() {
    return cycle(chain[1]);
  }

  @Benchmark
  public Object tokenLimit() {
    return cycle(chain[2]);
  }

  @Benchmark
  public Object wholeChain() {
    Object last = null;
    for (Plugin p : chain) {
      last = p.onRequest(request).toCompletableFuture().join();
    }
    for (int i = chain.length - 1; i >= 0; i--) {
      chain[i].onResponseHeaders(request, 200, headers);
    }
    for (int i = chain.length - 1; i >= 0; i--) {
      chain[i].onComplete(request, summary);
    }
    return last;
  }
}
