/** The bounded soak: a gateway under random drops, resumes and upstream faults for minutes (bench/soak). */
package io.sluice.soak;
