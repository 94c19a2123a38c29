/** The YAML config: immutable records, loaded and validated all at once with path-qualified errors. */
package io.sluice.config;
