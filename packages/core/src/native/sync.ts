// Native functions of the sync area: declared by the package that uses them.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SyncNative {}
