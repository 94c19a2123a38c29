/** Route matching: which route (and so which upstream and rules) a request takes. */
package io.sluice.route;
