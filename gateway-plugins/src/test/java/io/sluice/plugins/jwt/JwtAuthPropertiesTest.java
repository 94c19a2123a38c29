package io.sluice.plugins.jwt;

import static io.sluice.plugins.jwt.JwtFixtures.EC;
import static io.sluice.plugins.jwt.JwtFixtures.NOW;
import static io.sluice.plugins.jwt.JwtFixtures.SECRET;
import static io.sluice.plugins.jwt.JwtFixtures.b64;
import static io.sluice.plugins.jwt.JwtFixtures.claims;
import static io.sluice.plugins.jwt.JwtFixtures.plugin;
import static io.sluice.plugins.jwt.JwtFixtures.writePem;
import static io.sluice.testing.RandomInputs.anyString;
import static io.sluice.testing.RandomInputs.deleteRun;
import static io.sluice.testing.RandomInputs.insertChar;
import static io.sluice.testing.RandomInputs.list;
import static io.sluice.testing.RandomInputs.replaceChar;
import static io.sluice.testing.RandomInputs.string;
import static org.assertj.core.api.Assertions.assertThat;

import io.jsonwebtoken.Jwts;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.testing.RandomInputs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded randomized property test of jwt-auth: random text and mutated valid tokens (a character
 * flipped, inserted or removed anywhere, segments swapped or dropped, the header's algorithm
 * rewritten) never authenticate — the plugin always decides 401, at once, and names no consumer.
 * One case per seed (see {@link RandomInputs}).
 */
class JwtAuthPropertiesTest {
  private static final int GARBAGE_CASES = 400;
  private static final int MUTATION_CASES = 300;
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

  private static Decision decide(long seed, String token) {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer " + token);
    CompletableFuture<Decision> f = PLUGIN.onRequest(request).toCompletableFuture();
    assertThat(f).as("seed %d: decided at once, without an exception, for %s", seed, token)
        .isDone().isNotCompletedExceptionally();
    Decision d = f.join();
    if (d != Decision.PROCEED) {
      assertThat(request.consumer()).as("seed %d: a refused token names no consumer", seed).isNull();
    }
    return d;
  }

  static LongStream garbageSeeds() {
    return RandomInputs.seeds(GARBAGE_CASES);
  }

  static LongStream mutationSeeds() {
    return RandomInputs.seeds(MUTATION_CASES);
  }

  @Test
  void theUnmutatedTokensAreAccepted() {
    // The control: without it, "never accepted" below could pass because nothing ever is.
    assertThat(decide(-1, HS_TOKEN)).isEqualTo(Decision.PROCEED);
    assertThat(decide(-1, EC_TOKEN)).isEqualTo(Decision.PROCEED);
  }

  /** Up to 300 of any characters, up to 300 token-shaped ones, or 1–5 base64url segments joined by dots. */
  private static String garbage(Random random) {
    return switch (random.nextInt(3)) {
      case 0 -> anyString(random, 300);
      case 1 -> string(random, BASE64URL + ".", 0, 300);
      default -> String.join(".", list(random, 1, 5, r -> string(r, BASE64URL, 0, 80)));
    };
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("garbageSeeds")
  void randomTextNeverAuthenticates(long seed) {
    String token = garbage(RandomInputs.random(seed));
    assertThat(decide(seed, token)).as("seed %d: %s", seed, token).isNotEqualTo(Decision.PROCEED);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("mutationSeeds")
  void aMutatedValidTokenNeverAuthenticates(long seed) {
    Random random = RandomInputs.random(seed);
    String original = random.nextBoolean() ? EC_TOKEN : HS_TOKEN;
    // A base64 character's unused low bits may change nothing: draw again until the bytes differ,
    // so every case tests a real mutation instead of being skipped and silently lowering the count.
    String mutated = mutate(original, random);
    for (int i = 0; i < 100 && sameBytes(original, mutated); i++) {
      mutated = mutate(original, random);
    }
    assertThat(sameBytes(original, mutated)).as("seed %d: found a mutation that changes the token", seed).isFalse();
    assertThat(decide(seed, mutated)).as("seed %d: mutated: %s", seed, mutated).isNotEqualTo(Decision.PROCEED);
  }

  private static String mutate(String token, Random random) {
    String[] parts = token.split("\\.", -1);
    switch (random.nextInt(7)) {
      case 0 -> { // flip one character to another base64url character
        return replaceChar(random, token, BASE64URL);
      }
      case 1 -> { // insert one character
        return insertChar(random, token, BASE64URL);
      }
      case 2 -> { // delete a run of 1-8 characters
        return deleteRun(random, token, 8);
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
