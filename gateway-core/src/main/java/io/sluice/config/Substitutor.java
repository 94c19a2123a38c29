package io.sluice.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Expands {@code ${ENV_VAR}}, {@code ${ENV_VAR:-default}} and {@code ${file:/path}} in a config
 * string (README, "Configuration walkthrough"), so that secrets never have to live in the file
 * itself.
 *
 * <p>{@code $${} is an escape for a literal {@code ${}. Several references may appear in one string
 * ({@code "Bearer ${ORG}-${KEY}"}). Like the shell, {@code :-} also applies when the variable is set
 * but empty. A file's trailing line breaks are dropped because editors and {@code echo} add one,
 * and a newline at the end of a bearer token would break the header it goes into.
 */
final class Substitutor {
  static final String FORMS = "expected ${ENV_VAR}, ${ENV_VAR:-default} or ${file:/path}";

  /** A secret file larger than this is certainly a mistake (a wrong path), not a key. */
  private static final long MAX_FILE_BYTES = 1L << 20;

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private final Function<String, String> env;
  private final Path baseDir;

  Substitutor(Function<String, String> env, Path baseDir) {
    this.env = env;
    this.baseDir = baseDir;
  }

  /**
   * A file named in the config ({@code public-key: keys/rs256.pem}): relative names resolve
   * against the config file's folder, like {@code ${file:…}}.
   */
  Path resolvePath(Path file) {
    Path p = !file.isAbsolute() && baseDir != null ? baseDir.resolve(file) : file;
    return p.toAbsolutePath().normalize();
  }

  /** The expanded text, or the list of problems when any reference could not be resolved. */
  record Result(String value, List<String> problems) {}

  Result expand(String text) {
    StringBuilder out = new StringBuilder(text.length());
    List<String> problems = new ArrayList<>();
    int i = 0;
    while (i < text.length()) {
      if (text.startsWith("$${", i)) {
        out.append("${");
        i += 3;
      } else if (text.startsWith("${", i)) {
        int close = text.indexOf('}', i + 2);
        if (close < 0) {
          problems.add("unterminated '${' (" + FORMS + ")");
          break;
        }
        String resolved = resolve(text.substring(i + 2, close), problems);
        if (resolved != null) {
          out.append(resolved);
        }
        i = close + 1;
      } else {
        out.append(text.charAt(i++));
      }
    }
    return new Result(problems.isEmpty() ? out.toString() : null, problems);
  }

  /** Whether {@code text} holds at least one (unescaped) reference: its value then counts as a secret. */
  static boolean hasReference(String text) {
    int i = 0;
    while ((i = text.indexOf('$', i)) >= 0) {
      if (text.startsWith("$${", i)) {
        i += 3;
      } else if (text.startsWith("${", i)) {
        return true;
      } else {
        i++;
      }
    }
    return false;
  }

  /** The text with {@code $${} escapes undone, for strings without references. */
  static String unescape(String text) {
    return text.replace("$${", "${");
  }

  private String resolve(String expr, List<String> problems) {
    if (expr.startsWith("file:")) {
      return readFile(expr.substring("file:".length()), problems);
    }
    int dflt = expr.indexOf(":-");
    String name = dflt < 0 ? expr : expr.substring(0, dflt);
    if (!NAME.matcher(name).matches()) {
      problems.add("invalid reference '${" + expr + "}' (" + FORMS + ")");
      return null;
    }
    String value = env.apply(name);
    if (dflt >= 0 && (value == null || value.isEmpty())) {
      return expr.substring(dflt + 2);
    }
    if (value == null) {
      problems.add("environment variable " + name + " is not set");
    }
    return value;
  }

  private String readFile(String name, List<String> problems) {
    if (name.isEmpty()) {
      problems.add("invalid reference '${file:}' (" + FORMS + ")");
      return null;
    }
    Path file;
    try {
      file = Path.of(name);
    } catch (InvalidPathException e) {
      problems.add("invalid file name in '${file:" + name + "}'");
      return null;
    }
    if (!file.isAbsolute() && baseDir != null) {
      file = baseDir.resolve(file);
    }
    file = file.toAbsolutePath().normalize();
    try {
      if (Files.isDirectory(file)) {
        problems.add("cannot read file " + file + " (it is a directory)");
        return null;
      }
      if (Files.size(file) > MAX_FILE_BYTES) {
        problems.add("cannot read file " + file + " (larger than " + Units.formatSize(MAX_FILE_BYTES) + ")");
        return null;
      }
      String content = Files.readString(file, StandardCharsets.UTF_8);
      int end = content.length();
      while (end > 0 && (content.charAt(end - 1) == '\n' || content.charAt(end - 1) == '\r')) {
        end--;
      }
      return content.substring(0, end);
    } catch (NoSuchFileException e) {
      problems.add("cannot read file " + file + " (no such file)");
    } catch (AccessDeniedException e) {
      problems.add("cannot read file " + file + " (permission denied)");
    } catch (CharacterCodingException e) {
      problems.add("cannot read file " + file + " (not UTF-8 text)");
    } catch (IOException e) {
      problems.add("cannot read file " + file + " (" + e.getClass().getSimpleName() + ")");
    }
    return null;
  }
}
