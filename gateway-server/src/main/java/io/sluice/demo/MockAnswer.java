package io.sluice.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.demo.MockModelServer.Tokens;
import java.util.function.Function;

/**
 * A parsed request to one of the mock's model APIs ({@link MockChat}, {@link MockMessages}): how
 * many tokens it asks for, and its answer in the API's shape, whole or streamed.
 * {@link MockConnection} does the rest (the reply's tokens, pacing, backpressure) alike for every
 * API.
 *
 * @param tokenLimit the exact number of content tokens asked for ({@code max_tokens}); null for the
 *     whole reply once
 * @param stream whether the answer is streamed as server-sent events
 * @param whole the whole (non-streamed) answer's body for these tokens
 * @param events the streamed answer's events for these tokens
 */
record MockAnswer(
    Integer tokenLimit, boolean stream, Function<Tokens, JsonNode> whole, Function<Tokens, MockEvents> events) {}
