// Native functions of the error layer (bind/error.rs).

export interface ErrorsNative {
  /**
   * Called once per env by the loader, before anything else: `describe`
   * words "Received ..." in native argument errors, `finish` sees every
   * native error before it is thrown (and may return it changed in place),
   * `systemErrors` is `Array.from(util.getSystemErrorMap())`.
   */
  errorsSetup(
    describe: (value: unknown) => string,
    finish: (error: Error) => Error,
    systemErrors: Array<[number, [string, string]]>,
  ): undefined;
  /**
   * `[errno, description]` of the Linux errno named `name`, worded as native
   * system errors are; undefined for a name Linux does not have.
   */
  errorsErrno(name: string): [number, string] | undefined;
}
