package io.sluice.translate;

/**
 * An upstream error response rewritten into the client's API.
 *
 * @param status the HTTP status for the client
 * @param body the JSON error body (content type {@code application/json})
 */
public record TranslatedError(int status, byte[] body) {}
