package io.sluice.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A Lua script run by {@link RedisStore#eval}: sent by its SHA-1 ({@code EVALSHA}), and in full
 * only when the server does not know it yet (first use, or after Redis restarted).
 */
public record RedisScript(String source, String sha1) {

  public static RedisScript of(String source) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
      return new RedisScript(source, HexFormat.of().formatHex(digest));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is part of every JRE", e);
    }
  }
}
