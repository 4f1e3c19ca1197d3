package dev.cutover.replicator.cli;

import dev.cutover.replicator.capture.Capture;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --capture auto|logical|triggers|relay}, for the replicator's commands and the sample app's. */
public final class CaptureConverter implements ITypeConverter<Capture> {
  @Override
  public Capture convert(String value) {
    try {
      return Capture.parse(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
  }
}
