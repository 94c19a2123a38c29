/** The runnable gateway: command line, wiring of core parts, demo mode. */
package io.sluice.app;
