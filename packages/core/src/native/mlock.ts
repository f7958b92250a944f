// Native functions of the mlock area: declared by the package that uses them.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface MlockNative {}
