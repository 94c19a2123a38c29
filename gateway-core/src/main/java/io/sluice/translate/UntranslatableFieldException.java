package io.sluice.translate;

/**
 * A request field the upstream's API cannot carry: the caller answers 400
 * {@code invalid_request_error} / {@code untranslatable_field} with {@link #getMessage()}, which
 * names the field by its JSON path (e.g. {@code messages[2].content[0].type}). Never dropped silently.
 */
public final class UntranslatableFieldException extends RuntimeException {
  public static final String TYPE = "invalid_request_error";
  public static final String CODE = "untranslatable_field";
  public static final int STATUS = 400;

  private final String field;

  UntranslatableFieldException(String field, String why) {
    super("'" + field + "' cannot be translated: " + why);
    this.field = field;
  }

  /** The JSON path of the refused field. */
  public String field() {
    return field;
  }
}
