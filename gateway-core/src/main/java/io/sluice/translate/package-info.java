/**
 * Translation between the OpenAI Chat Completions and Anthropic Messages APIs: requests, streamed
 * events (one SSE event in, zero or more out, no buffering), whole bodies and error bodies. The
 * single entry point is {@link io.sluice.translate.Translation#between}; the field tables are in
 * {@code gateway-core/docs/translation.md}.
 */
package io.sluice.translate;
