/**
 * What every Cutover module does the same way: reading durations ({@link
 * dev.cutover.common.Durations}), waiting for a condition ({@link dev.cutover.common.Poll}), making
 * threads and waiting for them ({@link dev.cutover.common.Threads}), running work in one transaction
 * ({@link dev.cutover.common.Transactions}), small reads ({@link dev.cutover.common.Queries}), retrying DDL refused for a lock ({@link
 * dev.cutover.common.LockRetry}), masking secrets ({@link dev.cutover.common.Secrets}), reading why a login was refused ({@link
 * dev.cutover.common.LoginRefusal}), naming the transactions that hold a lock ({@link dev.cutover.common.TransactionHolders}) and giving a libpq program
 * no inherited PG* variable ({@link dev.cutover.common.LibpqEnvironment}). Shaded
 * into the driver's jar for its own use and the other modules'; not an API for applications: it
 * may change in any release.
 */
package dev.cutover.common;
