package dev.panagrad.memory;

/** Something whose data lives in a {@link Storage}: a tensor, as far as a {@link Scope} cares. */
public interface HasStorage {
  Storage storage();
}
