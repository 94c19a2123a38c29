package io.sluice.exchange;

/** Named moments of one exchange's timeline; metrics and logs are derived from them. */
public enum Moment {
  IN_REQ_HEADERS_RECEIVED,
  IN_REQ_BODY_RECEIVED,
  UPSTREAM_CONNECTED,
  UPSTREAM_REQ_SENT,
  UPSTREAM_RESP_HEADERS_RECEIVED,
  OUT_RESP_HEADERS_SENT,
  OUT_FIRST_EVENT_SENT,
  /** The first event carrying generated content (OpenAI's role-only first chunk does not count). */
  OUT_FIRST_TOKEN_SENT,
  UPSTREAM_RESP_COMPLETE,
  OUT_RESP_COMPLETE
}
