/** OpenTelemetry: the GenAI metrics and the OTLP traces of exchanges and their upstream attempts. */
package io.sluice.telemetry;
