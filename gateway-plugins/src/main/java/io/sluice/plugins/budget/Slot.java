package io.sluice.plugins.budget;

/**
 * One rule's counter for one request: the rule, the request's key (null: the shared bucket of
 * requests without one), the period it falls in and the limit that applies to the key.
 */
record Slot(int rule, String key, long periodStart, long periodEnd, long limit) {}
