/**
 * What every Cutover module does the same way: reading durations ({@link
 * dev.cutover.common.Durations}), waiting for a condition ({@link dev.cutover.common.Poll}), making
 * threads ({@link dev.cutover.common.Threads}) and masking secrets ({@link
 * dev.cutover.common.Secrets}). Shaded into the driver's jar for its own use and the other modules';
 * not an API for applications: it may change in any release.
 */
package dev.cutover.common;
