/** HTTP details shared by both legs: error bodies, path normalisation, proxy headers. */
package io.sluice.http;
