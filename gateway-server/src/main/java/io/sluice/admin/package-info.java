/** The admin listener: health, readiness, metrics and the read-only admin API. */
package io.sluice.admin;
