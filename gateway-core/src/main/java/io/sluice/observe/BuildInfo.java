package io.sluice.observe;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What the build stamped into the jar: the project version, for {@code --version} and the
 * {@code sluice_build_info{version}} gauge.
 *
 * <p>Why a filtered resource rather than the manifest's {@code Implementation-Version}: the
 * manifest exists only in the packaged jar, while tests and the IDE run from class folders; Maven
 * writes {@code build.properties} into both (gateway-core/pom.xml filters that one file).
 */
public final class BuildInfo {
  /** Shown when the resource is missing or was copied without filtering (a bare IDE build). */
  public static final String UNKNOWN = "unknown";

  private static final String VERSION = load();

  private BuildInfo() {}

  /** The project version the jar was built as, e.g. {@code 0.1.0-SNAPSHOT}, or {@link #UNKNOWN}. */
  public static String version() {
    return VERSION;
  }

  private static String load() {
    try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
      if (in == null) {
        return UNKNOWN;
      }
      Properties p = new Properties();
      p.load(in);
      return versionOf(p);
    } catch (IOException e) {
      return UNKNOWN;
    }
  }

  /** The version in these properties; an unfiltered {@code ${project.version}} counts as none. */
  static String versionOf(Properties p) {
    String v = p.getProperty("version", "").strip();
    return v.isEmpty() || v.contains("${") ? UNKNOWN : v;
  }
}
