package io.sluice.translate;

/**
 * A request rewritten into the upstream's API.
 *
 * @param body the JSON body to send upstream
 * @param streamed the client asked for a streamed response ({@code "stream": true})
 * @param clientWantsUsage an OpenAI client asked {@code stream_options.include_usage}: only then
 *     does its translated stream end with the usage chunk (an Anthropic client always gets usage)
 */
public record TranslatedRequest(byte[] body, boolean streamed, boolean clientWantsUsage) {}
