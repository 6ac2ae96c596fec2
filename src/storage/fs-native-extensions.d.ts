/** The part of fs-native-extensions the data-directory lock uses (the package ships no types). */
declare module 'fs-native-extensions' {
  /**
   * Takes an open-file-description lock (Linux `F_OFD_SETLK`, `flock` elsewhere) without waiting;
   * false when another open file holds it. Exclusive unless `shared` is set.
   */
  export function tryLock(
    fd: number,
    offset?: number,
    length?: number,
    opts?: { shared?: boolean },
  ): boolean;
}
