package io.sluice.plugins.jwt;

import io.jsonwebtoken.JwtBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Jwks;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.testing.FakeServices;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Keys, tokens minted with JJWT's builder, and configs for the jwt-auth tests. */
final class JwtFixtures {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final String SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes
  static final String ISSUER = "https://idp.example";
  static final KeyPair RSA = generate("RSA", null);
  static final KeyPair RSA_OTHER = generate("RSA", null);
  static final KeyPair EC = generate("EC", new ECGenParameterSpec("secp256r1"));
  static final KeyPair ED = generate("Ed25519", null);

  private JwtFixtures() {}

  private static KeyPair generate(String algorithm, ECGenParameterSpec spec) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
      if (spec != null) {
        g.initialize(spec);
      } else if (algorithm.equals("RSA")) {
        g.initialize(2048);
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  static Path writePem(Path dir, String name, PublicKey key) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, pem(key));
    return file;
  }

  /** A token for {@code sub} valid for 5 minutes from {@link #NOW}, issuer and audience set. */
  static JwtBuilder claims(String sub) {
    return Jwts.builder()
        .subject(sub)
        .issuer(ISSUER)
        .audience().add("sluice").and()
        .issuedAt(Date.from(NOW))
        .expiration(Date.from(NOW.plusSeconds(300)));
  }

  static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  /** One JWK's JSON for a public key with this kid. */
  static String jwk(PublicKey key, String kid) {
    return Jwks.json(Jwks.builder().key(key).id(kid).build());
  }

  static String jwks(String... jwks) {
    return "{\"keys\":[" + String.join(",", jwks) + "]}";
  }

  static GatewayConfig config(String pluginYaml, Map<String, String> env) throws ConfigException {
    String yaml = """
        listeners: [ { name: public, port: 0 } ]
        upstreams: [ { name: models, endpoints: [ { url: "http://127.0.0.1:9" } ] } ]
        consumers:
          - { name: bob, jwt-claim-value: bob-sub }
          - { name: alice, jwt-claim-value: alice-sub }
          - { name: carol, api-keys: [ "k-carol" ] }
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              jwt-auth:
        """ + pluginYaml.lines().map(l -> "          " + l).collect(Collectors.joining("\n")) + "\n";
    return new ConfigLoader(env::get, PluginRegistry.of(List.of(new JwtAuthFactory()))).parse(yaml, Path.of("."));
  }

  static Plugin plugin(String pluginYaml, FakeServices services) throws ConfigException {
    GatewayConfig config = config(pluginYaml, Map.of());
    services.consumers(config.consumers());
    return ConfiguredPlugin.of(config.routes().get(0).plugins().get(0)).create(services);
  }
}
