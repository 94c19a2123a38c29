package io.sluice.plugins.jwt;

import static io.sluice.plugins.jwt.JwtFixtures.EC;
import static io.sluice.plugins.jwt.JwtFixtures.NOW;
import static io.sluice.plugins.jwt.JwtFixtures.SECRET;
import static io.sluice.plugins.jwt.JwtFixtures.b64;
import static io.sluice.plugins.jwt.JwtFixtures.claims;
import static io.sluice.plugins.jwt.JwtFixtures.plugin;
import static io.sluice.plugins.jwt.JwtFixtures.writePem;
import static org.assertj.core.api.Assertions.assertThat;

import io.jsonwebtoken.Jwts;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import javax.crypto.spec.SecretKeySpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzing jwt-auth: random bytes and mutated valid tokens (a character flipped, inserted or
 * removed anywhere, segments swapped or dropped, the header's algorithm rewritten) never
 * authenticate — the plugin always decides 401, at once, and names no consumer.
 */
class JwtAuthProperties {
  private static final String BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  private static final FakeServices SERVICES = new FakeServices().wallClock(NOW);
  private static final Plugin PLUGIN = newPlugin();
  private static final String HS_TOKEN = claims("alice-sub")
      .signWith(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256")).compact();
  private static final String EC_TOKEN = claims("alice-sub").signWith(EC.getPrivate(), Jwts.SIG.ES256).compact();

  private static Plugin newPlugin() {
    try {
      Path dir = Files.createTempDirectory("jwt-fuzz");
      dir.toFile().deleteOnExit();
      Path ec = writePem(dir, "ec.pem", EC.getPublic());
      ec.toFile().deleteOnExit();
      return plugin("""
          issuer: https://idp.example
          audiences: [sluice]
          keys:
            - { algorithm: HS256, secret: "%s" }
            - { public-key: "%s" }
          """.formatted(SECRET, ec), SERVICES);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Decision decide(String token) {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer " + token);
    CompletableFuture<Decision> f = PLUGIN.onRequest(request).toCompletableFuture();
    assertThat(f).as("decided at once, without an exception").isDone().isNotCompletedExceptionally();
    Decision d = f.join();
    if (d != Decision.PROCEED) {
      assertThat(request.consumer()).as("a refused token names no consumer").isNull();
    }
    return d;
  }

  @Example
  void theUnmutatedTokensAreAccepted() {
    // The control: without it, "never accepted" below could pass because nothing ever is.
    assertThat(decide(HS_TOKEN)).isEqualTo(Decision.PROCEED);
    assertThat(decide(EC_TOKEN)).isEqualTo(Decision.PROCEED);
  }

  @Provide
  Arbitrary<String> garbage() {
    return Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(300), // any characters
        Arbitraries.strings().withChars(BASE64URL + ".").ofMaxLength(300), // token-shaped
        Arbitraries.strings().withChars(BASE64URL).ofMaxLength(80).list().ofMinSize(1).ofMaxSize(5)
            .map(parts -> String.join(".", parts)));
  }

  @Property(tries = 400)
  void randomTextNeverAuthenticates(@ForAll("garbage") String token) {
    assertThat(decide(token)).isNotEqualTo(Decision.PROCEED);
  }

  @Property(tries = 300)
  void aMutatedValidTokenNeverAuthenticates(@ForAll boolean ec, @ForAll Random random) {
    String original = ec ? EC_TOKEN : HS_TOKEN;
    String mutated = mutate(original, random);
    Assume.that(!sameBytes(original, mutated)); // a base64 character's unused low bits may change nothing
    assertThat(decide(mutated)).as("mutated: %s", mutated).isNotEqualTo(Decision.PROCEED);
  }

  private static String mutate(String token, Random random) {
    String[] parts = token.split("\\.", -1);
    switch (random.nextInt(7)) {
      case 0 -> { // flip one character to another base64url character
        int i = random.nextInt(token.length());
        char c = BASE64URL.charAt(random.nextInt(BASE64URL.length()));
        return token.substring(0, i) + c + token.substring(i + 1);
      }
      case 1 -> { // insert one character
        int i = random.nextInt(token.length() + 1);
        return token.substring(0, i) + BASE64URL.charAt(random.nextInt(BASE64URL.length())) + token.substring(i);
      }
      case 2 -> { // delete a run of characters
        int i = random.nextInt(token.length());
        return token.substring(0, i) + token.substring(Math.min(token.length(), i + 1 + random.nextInt(8)));
      }
      case 3 -> { // drop or empty the signature
        return random.nextBoolean() ? parts[0] + "." + parts[1] + "." : parts[0] + "." + parts[1];
      }
      case 4 -> { // rewrite the header's algorithm, keep payload and signature
        String alg = List.of("none", "None", "HS256", "HS512", "ES256", "RS256", "").get(random.nextInt(7));
        return b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + parts[1] + "." + parts[2];
      }
      case 5 -> { // the payload of another subject with the original signature
        String payload = b64("{\"sub\":\"bob-sub\",\"iss\":\"https://idp.example\",\"aud\":\"sluice\",\"exp\":"
            + (NOW.getEpochSecond() + 300) + "}");
        return parts[0] + "." + payload + "." + parts[2];
      }
      default -> { // swap two segments
        int a = random.nextInt(3);
        int b = (a + 1 + random.nextInt(2)) % 3;
        String t = parts[a];
        parts[a] = parts[b];
        parts[b] = t;
        return String.join(".", parts);
      }
    }
  }

  /** Same segments once decoded (base64url's last character can carry bits nobody reads). */
  private static boolean sameBytes(String a, String b) {
    String[] x = a.split("\\.", -1);
    String[] y = b.split("\\.", -1);
    if (x.length != y.length) {
      return false;
    }
    try {
      for (int i = 0; i < x.length; i++) {
        if (!Arrays.equals(Base64.getUrlDecoder().decode(x[i]), Base64.getUrlDecoder().decode(y[i]))) {
          return false;
        }
      }
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
