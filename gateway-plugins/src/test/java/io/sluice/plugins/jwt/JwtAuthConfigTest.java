package io.sluice.plugins.jwt;

import static io.sluice.plugins.jwt.JwtFixtures.RSA;
import static io.sluice.plugins.jwt.JwtFixtures.config;
import static io.sluice.plugins.jwt.JwtFixtures.writePem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.plugin.PluginChain;
import io.sluice.plugin.PluginRegistry;
import io.sluice.testing.FakeServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad jwt-auth configs are refused at load, with every problem and its full path. */
class JwtAuthConfigTest {
  private static final String P = "routes[0].plugins.jwt-auth";

  @TempDir Path dir;

  private static List<String> errors(String pluginYaml) {
    return errors(pluginYaml, Map.of());
  }

  private static List<String> errors(String pluginYaml, Map<String, String> env) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> config(pluginYaml, env));
    assertThat(e).as("config is refused").isNotNull();
    return e.errors();
  }

  @Test
  void aShortHmacSecretIsRefusedWithoutEchoingIt() {
    assertThat(errors("keys: [ { algorithm: HS256, secret: \"tooshort10\" } ]"))
        .containsExactly(P + ".keys[0].secret: HS256 needs a secret of at least 32 bytes (got 10)");
    assertThat(errors("keys: [ { algorithm: HS384, secret: \"" + "x".repeat(47) + "\" } ]"))
        .containsExactly(P + ".keys[0].secret: HS384 needs a secret of at least 48 bytes (got 47)");
    assertThat(errors("keys: [ { algorithm: HS512, secret: \"${JWT_SECRET}\" } ]", Map.of("JWT_SECRET", "s".repeat(63))))
        .containsExactly(P + ".keys[0].secret: HS512 needs a secret of at least 64 bytes (got 63)");
  }

  @Test
  void keysAreRequired() {
    assertThat(errors("{ issuer: https://idp.example }")).containsExactly(P + ".keys: required");
    assertThat(errors("{ keys: [] }"))
        .containsExactly(P + ".keys: must not be empty (name at least one secret, public-key or jwks-uri)");
    assertThat(errors("")).containsExactly(P + ".keys: required");
  }

  @Test
  void aKeyItemHasExactlyOneKind() throws Exception {
    Path pem = writePem(dir, "rs.pem", RSA.getPublic());
    assertThat(errors("keys: [ { algorithm: HS256, secret: \"" + "x".repeat(32) + "\", public-key: \"" + pem + "\" } ]"))
        .containsExactly(P + ".keys[0]: secret cannot be combined with public-key in one key (give each its own item)");
    assertThat(errors("keys: [ { public-key: \"" + pem + "\", jwks-uri: https://idp.example/jwks } ]"))
        .containsExactly(P + ".keys[0]: public-key cannot be combined with jwks-uri in one key (give each its own item)");
    assertThat(errors("keys: [ { kid: a } ]")).containsExactly(P + ".keys[0]: expected exactly one of: secret, public-key, jwks-uri");
    assertThat(errors("keys: [ just-a-string ]")).containsExactly(P + ".keys[0]: expected a map");
  }

  @Test
  void aMissingOrBadPemFileIsNamed() throws Exception {
    Path missing = dir.resolve("nope.pem");
    assertThat(errors("keys: [ { public-key: \"" + missing + "\" } ]"))
        .containsExactly(P + ".keys[0].public-key: cannot read file " + missing + " (no such file)");
    Path garbage = Files.writeString(dir.resolve("garbage.pem"), "hello");
    assertThat(errors("keys: [ { public-key: \"" + garbage + "\" } ]")).containsExactly(P + ".keys[0].public-key: file "
        + garbage + " is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    Path priv = Files.writeString(dir.resolve("priv.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assertThat(errors("keys: [ { public-key: \"" + priv + "\" } ]")).containsExactly(P + ".keys[0].public-key: file "
        + priv + " holds a private key (PRIVATE KEY); give the public key (-----BEGIN PUBLIC KEY-----)");
    Path bad = Files.writeString(dir.resolve("bad.pem"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    assertThat(errors("keys: [ { public-key: \"" + bad + "\" } ]")).containsExactly(P + ".keys[0].public-key: file "
        + bad + " is not an RSA, EC or EdDSA public key");
  }

  @Test
  void aRelativePemPathResolvesAgainstTheConfigFolder() throws Exception {
    writePem(dir, "rs.pem", RSA.getPublic());
    String yaml = """
        listeners: [ { name: public, port: 0 } ]
        upstreams: [ { name: models, endpoints: [ { url: "http://127.0.0.1:9" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins: { jwt-auth: { keys: [ { public-key: rs.pem } ] } }
        """;
    var loader = new ConfigLoader(Map.<String, String>of()::get,
        PluginRegistry.of(List.of(new JwtAuthFactory())));
    assertThat(loader.parse(yaml, dir).routes().get(0).plugins()).hasSize(1);
  }

  @Test
  void anAlgorithmMustFitItsKey() throws Exception {
    Path pem = writePem(dir, "rs.pem", RSA.getPublic());
    assertThat(errors("keys: [ { public-key: \"" + pem + "\", algorithm: ES256 } ]")).containsExactly(P
        + ".keys[0].algorithm: 'ES256' does not fit an RSA key (expected one of: RS256, RS384, RS512, PS256, PS384, PS512)");
    assertThat(errors("keys: [ { algorithm: RS256, secret: \"" + "x".repeat(32) + "\" } ]"))
        .containsExactly(P + ".keys[0].algorithm: expected one of HS256, HS384, HS512 for a secret (got 'RS256')");
    assertThat(errors("keys: [ { algorithm: none, secret: \"" + "x".repeat(32) + "\" } ]"))
        .containsExactly(P + ".keys[0].algorithm: expected one of HS256, HS384, HS512 for a secret (got 'none')");
    assertThat(errors("keys: [ { secret: \"" + "x".repeat(32) + "\" } ]")).containsExactly(P + ".keys[0].algorithm: required");
  }

  @Test
  void jwksItemsAreChecked() {
    assertThat(errors("keys: [ { jwks-uri: ftp://idp.example/jwks } ]"))
        .containsExactly(P + ".keys[0].jwks-uri: expected an https:// (or http://) URL (got 'ftp://idp.example/jwks')");
    assertThat(errors("keys: [ { jwks-uri: https://idp.example/jwks, refresh: soon, kid: a } ]")).containsExactly(
        P + ".keys[0].kid: not for a jwks-uri key (the key set names its own kids)",
        P + ".keys[0].refresh: expected a duration such as 250ms, 30s, 5m, 1h (got 'soon')");
    assertThat(errors("keys: [ { algorithm: HS256, secret: \"" + "x".repeat(32) + "\", refresh: 1m } ]"))
        .containsExactly(P + ".keys[0].refresh: only applies to a jwks-uri key");
  }

  @Test
  void unknownKeysAndEveryProblemAreReportedTogether() {
    assertThat(errors("""
        issuer: ""
        audiences: []
        clock-skew: -1s
        allow: [bob, dave]
        colour: blue
        keys:
          - { algorithm: HS256, secret: "short", colour: red }
        """)).containsExactlyInAnyOrder(
        P + ".issuer: must not be empty",
        P + ".audiences: must not be empty (omit audiences to accept any aud)",
        P + ".clock-skew: expected a duration such as 250ms, 30s, 5m, 1h (got '-1s')",
        P + ".allow[1]: 'dave' is not a declared consumer (expected one of: alice, bob, carol)",
        P + ".keys[0].colour: unknown key (expected one of: algorithm, secret, public-key, jwks-uri, refresh, kid)",
        P + ".keys[0].secret: HS256 needs a secret of at least 32 bytes (got 5)",
        P + ".colour: unknown key (expected one of: issuer, audiences, consumer-claim, allow-undeclared, clock-skew, "
            + "allow, keys)");
  }

  @Test
  void aValidConfigRunsInTheAuthnPhaseAfterKeyAuth() throws Exception {
    var config = config("""
        issuer: https://idp.example
        audiences: [sluice]
        allow: [bob]
        keys:
          - { algorithm: HS256, secret: "${JWT_SECRET}", kid: k1 }
          - { jwks-uri: https://idp.example/jwks, refresh: 5m }
        """, Map.of("JWT_SECRET", "z".repeat(32)));
    PluginChain chain = PluginChain.of(config.routes().get(0).plugins(), new FakeServices());
    assertThat(chain.entries()).hasSize(1);
    assertThat(chain.entries().get(0).toString()).isEqualTo("AUTHN:jwt-auth(900)");
    JwtAuthSettings s = (JwtAuthSettings) config.routes().get(0).plugins().get(0).settings();
    assertThat(s.clockSkew()).hasSeconds(30);
    assertThat(s.consumerClaim()).isEqualTo("sub");
    assertThat(s.jwks()).containsExactly(new JwtAuthSettings.JwksSource("https://idp.example/jwks",
        Duration.ofMinutes(5)));
    assertThat(s.toString()).doesNotContain("zzzz");
  }
}
