package io.sluice.plugins.jwt;

import io.sluice.config.PluginSettings;
import io.sluice.config.Secret;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.jwt.JwtAuthSettings.JwksSource;
import io.sluice.plugins.jwt.JwtAuthSettings.StaticKey;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.crypto.spec.SecretKeySpec;

/**
 * {@code jwt-auth}: AUTHN, priority 900 (after key-auth's 1000; either one suffices). Reads and
 * checks the whole key list at load time: HMAC secrets are measured against their algorithm, PEM
 * files are read and parsed, an {@code algorithm} restriction must fit the key's type.
 */
public final class JwtAuthFactory implements PluginFactory<JwtAuthSettings> {
  static final String NAME = "jwt-auth";
  static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
  static final Duration DEFAULT_REFRESH = Duration.ofMinutes(10);
  private static final long MAX_PEM_BYTES = 1L << 20;
  private static final String KINDS = "secret, public-key, jwks-uri";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Phase phase() {
    return Phase.AUTHN;
  }

  @Override
  public int priority() {
    return 900;
  }

  @Override
  public JwtAuthSettings parse(PluginSettings s) {
    Check ok = new Check();
    String issuer = ok.read(s.get("issuer"), PluginSettings::nonEmptyString);
    List<String> audiences = new ArrayList<>();
    PluginSettings audNode = s.get("audiences");
    List<PluginSettings> audItems = ok.read(audNode, PluginSettings::list);
    if (audItems != null) {
      if (audItems.isEmpty()) {
        audNode.problem("must not be empty (omit audiences to accept any aud)");
        ok.failed = true;
      }
      for (PluginSettings a : audItems) {
        String v = ok.item(a, PluginSettings::nonEmptyString);
        if (v != null) {
          audiences.add(v);
        }
      }
    }
    String claim = ok.read(s.get("consumer-claim"), PluginSettings::nonEmptyString);
    Boolean allowUndeclared = ok.read(s.get("allow-undeclared"), PluginSettings::bool);
    Duration skew = ok.read(s.get("clock-skew"), PluginSettings::duration);
    Set<String> allow = allow(s.get("allow"), ok);
    List<StaticKey> staticKeys = new ArrayList<>();
    List<JwksSource> jwks = new ArrayList<>();
    PluginSettings keysNode = s.get("keys");
    keysNode.required();
    List<PluginSettings> keyItems = keysNode.present() ? ok.read(keysNode, PluginSettings::list) : null;
    if (!keysNode.present()) {
      ok.failed = true;
    } else if (keyItems != null) {
      if (keyItems.isEmpty()) {
        keysNode.problem("must not be empty (name at least one secret, public-key or jwks-uri)");
        ok.failed = true;
      }
      for (PluginSettings item : keyItems) {
        key(item, staticKeys, jwks, ok);
      }
    }
    s.finish();
    if (ok.failed) {
      return null;
    }
    return new JwtAuthSettings(issuer, audiences, claim == null ? "sub" : claim,
        Boolean.TRUE.equals(allowUndeclared), skew == null ? DEFAULT_CLOCK_SKEW : skew, allow,
        staticKeys, jwks);
  }

  @Override
  public Plugin create(JwtAuthSettings settings, PluginServices services) {
    return new JwtAuthPlugin(settings, services);
  }

  private static Set<String> allow(PluginSettings node, Check ok) {
    Set<String> out = new LinkedHashSet<>();
    List<PluginSettings> items = ok.read(node, PluginSettings::list);
    if (items == null) {
      return out;
    }
    if (items.isEmpty()) {
      node.problem("must not be empty (omit allow to accept every consumer)");
      ok.failed = true;
    }
    Set<String> declared = new TreeSet<>(node.consumerNames());
    for (PluginSettings item : items) {
      String name = ok.item(item, PluginSettings::nonEmptyString);
      if (name == null) {
        continue;
      }
      if (!declared.contains(name)) {
        item.problem("'" + name + "' is not a declared consumer ("
            + (declared.isEmpty() ? "no consumers are declared" : "expected one of: " + String.join(", ", declared))
            + ")");
        ok.failed = true;
      } else {
        out.add(name);
      }
    }
    return out;
  }

  /** One {@code keys[i]} item: exactly one of secret, public-key, jwks-uri. */
  private static void key(PluginSettings item, List<StaticKey> staticKeys, List<JwksSource> jwks, Check ok) {
    if (!item.present()) {
      item.problem("expected a map with one of: " + KINDS);
      ok.failed = true;
      return;
    }
    if (item.entries() == null) { // not a map: reported
      ok.failed = true;
      return;
    }
    PluginSettings algorithm = item.get("algorithm");
    PluginSettings secret = item.get("secret");
    PluginSettings publicKey = item.get("public-key");
    PluginSettings jwksUri = item.get("jwks-uri");
    PluginSettings refresh = item.get("refresh");
    PluginSettings kid = item.get("kid");
    item.finish();

    List<String> kinds = new ArrayList<>();
    if (secret.present()) {
      kinds.add("secret");
    }
    if (publicKey.present()) {
      kinds.add("public-key");
    }
    if (jwksUri.present()) {
      kinds.add("jwks-uri");
    }
    if (kinds.isEmpty()) {
      item.problem("expected exactly one of: " + KINDS);
      ok.failed = true;
      return;
    }
    if (kinds.size() > 1) {
      item.problem(kinds.get(0) + " cannot be combined with " + kinds.get(1) + " in one key (give each its own item)");
      ok.failed = true;
      return;
    }
    if (!kinds.get(0).equals("jwks-uri") && refresh.present()) {
      refresh.problem("only applies to a jwks-uri key");
      ok.failed = true;
    }
    String kidValue = null;
    if (kinds.get(0).equals("jwks-uri")) {
      if (kid.present()) {
        kid.problem("not for a jwks-uri key (the key set names its own kids)");
        ok.failed = true;
      }
      if (algorithm.present()) {
        algorithm.problem("not for a jwks-uri key (each JWK names its own alg)");
        ok.failed = true;
      }
    } else {
      kidValue = ok.read(kid, PluginSettings::nonEmptyString);
    }
    switch (kinds.get(0)) {
      case "secret" -> {
        algorithm.required();
        String algName = ok.read(algorithm, PluginSettings::nonEmptyString);
        JwtAlgorithm alg = null;
        if (algName != null) {
          alg = JwtAlgorithm.of(algName);
          if (alg == null || alg.family() != JwtAlgorithm.Family.HMAC) {
            algorithm.problem("expected one of HS256, HS384, HS512 for a secret (got '" + algName + "')");
            ok.failed = true;
            alg = null;
          }
        } else {
          ok.failed = true;
        }
        Secret value = ok.read(secret, PluginSettings::secret);
        if (alg != null && value != null) {
          byte[] bytes = value.reveal().getBytes(StandardCharsets.UTF_8);
          if (bytes.length < alg.minSecretBytes()) {
            secret.problem(alg + " needs a secret of at least " + alg.minSecretBytes() + " bytes (got "
                + bytes.length + ")");
            ok.failed = true;
          } else {
            staticKeys.add(new StaticKey(kidValue, new SecretKeySpec(bytes, alg.hmacJcaName()), EnumSet.of(alg)));
          }
        }
      }
      case "public-key" -> {
        PublicKey key = readPem(publicKey, ok);
        String algName = ok.read(algorithm, PluginSettings::nonEmptyString);
        if (key == null) {
          return;
        }
        List<JwtAlgorithm> fitting = JwtAlgorithm.fitting(key);
        if (fitting.isEmpty()) {
          publicKey.problem("holds " + JwtAlgorithm.describe(key) + ", which no supported algorithm verifies");
          ok.failed = true;
          return;
        }
        Set<JwtAlgorithm> algorithms = EnumSet.copyOf(fitting);
        if (algName != null) {
          JwtAlgorithm alg = JwtAlgorithm.of(algName);
          if (alg == null || !fitting.contains(alg)) {
            algorithm.problem("'" + algName + "' does not fit " + JwtAlgorithm.describe(key) + " (expected one of: "
                + fitting.stream().map(Enum::name).collect(Collectors.joining(", ")) + ")");
            ok.failed = true;
            return;
          }
          algorithms = EnumSet.of(alg);
        }
        staticKeys.add(new StaticKey(kidValue, key, algorithms));
      }
      default -> {
        String uri = ok.read(jwksUri, PluginSettings::nonEmptyString);
        Duration every = ok.read(refresh, PluginSettings::positiveDuration);
        if (uri != null && !isHttpUrl(uri)) {
          jwksUri.problem("expected an https:// (or http://) URL (got '" + uri + "')");
          ok.failed = true;
        } else if (uri != null) {
          jwks.add(new JwksSource(uri, every == null ? DEFAULT_REFRESH : every));
        }
      }
    }
  }

  private static boolean isHttpUrl(String s) {
    try {
      URI u = new URI(s);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      return (scheme.equals("https") || scheme.equals("http")) && u.getHost() != null;
    } catch (URISyntaxException e) {
      return false;
    }
  }

  private static PublicKey readPem(PluginSettings node, Check ok) {
    Path file = ok.read(node, PluginSettings::file);
    if (file == null) {
      return null;
    }
    String text;
    try {
      if (Files.isDirectory(file)) {
        return pemProblem(node, ok, "cannot read file " + file + " (it is a directory)");
      }
      if (Files.size(file) > MAX_PEM_BYTES) {
        return pemProblem(node, ok, "cannot read file " + file + " (larger than 1MiB)");
      }
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      return pemProblem(node, ok, "cannot read file " + file + " (no such file)");
    } catch (AccessDeniedException e) {
      return pemProblem(node, ok, "cannot read file " + file + " (permission denied)");
    } catch (IOException e) {
      return pemProblem(node, ok, "cannot read file " + file + " (" + e.getClass().getSimpleName() + ")");
    }
    try {
      return PemKeys.parse(text);
    } catch (IllegalArgumentException e) {
      return pemProblem(node, ok, "file " + file + " " + e.getMessage());
    }
  }

  private static PublicKey pemProblem(PluginSettings node, Check ok, String message) {
    node.problem(message);
    ok.failed = true;
    return null;
  }

  /** Remembers whether any read failed, so a half-read config never builds a plugin. */
  private static final class Check {
    boolean failed;

    /** An optional value: absent reads as null, present-but-unreadable marks the check failed. */
    <T> T read(PluginSettings node, Function<PluginSettings, T> reader) {
      if (!node.present()) {
        return null;
      }
      T value = reader.apply(node);
      if (value == null) {
        failed = true;
      }
      return value;
    }

    /** A list item, which must be present. */
    <T> T item(PluginSettings node, Function<PluginSettings, T> reader) {
      if (!node.present()) {
        node.problem("expected a string");
        failed = true;
        return null;
      }
      return read(node, reader);
    }
  }
}
