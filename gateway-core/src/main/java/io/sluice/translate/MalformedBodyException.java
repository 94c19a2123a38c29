package io.sluice.translate;

/**
 * A body to translate that is not the JSON its API defines: the caller answers 400
 * {@code invalid_request_error} / {@code malformed_request} for a request (and treats an upstream
 * response as a failed upstream).
 */
public final class MalformedBodyException extends RuntimeException {
  MalformedBodyException(String message) {
    super(message);
  }
}
