package dev.cutover.driver.internal.switching;

import dev.cutover.flags.Target;

/**
 * What a transaction about to begin must obey: the side that serves, and the gate when a switch
 * holds new transactions. Immutable and replaced whole, so a session sees whether anything
 * changed with one volatile read and a reference comparison.
 *
 * @param serving the database that serves
 * @param gate the closed gate of a running switch, or {@code null} when transactions may begin
 */
public record Route(Target serving, Gate gate) {}
