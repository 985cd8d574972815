package dev.panagrad.data;

import java.io.IOException;

/** A data file that cannot be used: its message names the file, the problem and the fix. */
public final class DataFileException extends IOException {
  public DataFileException(String message) {
    super(message);
  }

  public DataFileException(String message, Throwable cause) {
    super(message, cause);
  }
}
