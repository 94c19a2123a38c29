package io.sluice.telemetry;

/**
 * What the OpenTelemetry GenAI conventions call an exchange to a model: the names its metrics
 * and spans carry ({@code gen_ai.operation.name}, {@code gen_ai.provider.name},
 * {@code gen_ai.request.model}).
 *
 * @param requestModel the request body's {@code model}, or null when it names none
 */
public record GenAiRequest(String operation, String provider, String requestModel) {}
