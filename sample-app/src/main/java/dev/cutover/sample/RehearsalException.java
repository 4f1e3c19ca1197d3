package dev.cutover.sample;

/** The rehearsal could not run at all (as opposed to running and finding a broken invariant). */
final class RehearsalException extends Exception {
  RehearsalException(String message, Throwable cause) {
    super(message, cause);
  }
}
