/**
 * Where the routing decision comes from: a {@link dev.cutover.flags.RoutingFlag} says whether the
 * old or the new database should serve, and tells listeners when that changes. {@link
 * dev.cutover.flags.RoutingFlags#open} builds one from the driver's settings: the LaunchDarkly
 * flag (production; its own artifact, {@code cutover-flags-launchdarkly}, found as a {@link
 * dev.cutover.flags.FlagProvider}), {@link dev.cutover.flags.FileFlag} (rehearsals), {@link
 * dev.cutover.flags.FixedFlag}, {@link dev.cutover.flags.ManualFlag}.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>The hot path is one volatile read.</b> The driver asks {@code target()} at every
 *       transaction boundary; sources keep the decision in a volatile field ({@code Decision}) and
 *       never evaluate, block or allocate there. LaunchDarkly evaluations happen only when the SDK
 *       reports a change, and are cached per context in Caffeine ({@code Evaluations}) with a
 *       generation number, so that an evaluation racing a change cannot leave a stale answer.
 *   <li><b>One writer per source.</b> Each source changes its decision from a single thread of its
 *       own (LaunchDarkly: an executor fed from the SDK's event thread; file: the watcher thread),
 *       so listeners hear changes in order and never concurrently, and a slow listener never
 *       stalls the SDK's event thread.
 *   <li><b>An outage never moves traffic.</b> The decision changes only on a value that parses as
 *       a target. Not connected yet, interrupted, refused key (OFF), flag missing, flag malformed,
 *       file missing: all keep the current target, and {@code health()} says why.
 *   <li><b>A bad value is counted once per delivery and logged once per distinct value.</b> A
 *       repeat of the same answer (LaunchDarkly re-sending data on reconnect, the file poll
 *       re-reading the same content) is recognised and ignored.
 *   <li><b>Health from the SDK's own state.</b> INITIALIZING and INTERRUPTED are {@code
 *       INTERRUPTED}, OFF is {@code OFF}. The SDK marks itself initialized a moment before it
 *       publishes VALID; initialized-but-INITIALIZING is taken as {@code VALID}.
 *   <li><b>The SDK key</b> lives in one record whose {@code toString()} masks it; no message is
 *       built from it. {@link dev.cutover.flags.RoutingFlags#SECRETS} lists it for callers that
 *       show settings.
 * </ul>
 *
 * <p>Observed SDK behaviour (7.13.0) worth knowing: the polling interval cannot go below 30 s; on
 * malformed stream data the SDK reconnects at once, without backing off; a stream closed by the
 * server (as WireMock does after each response) is retried after the reconnect delay, doubling
 * with jitter.
 */
package dev.cutover.flags;
