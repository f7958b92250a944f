// Native functions of the sysv area: declared by the package that uses them.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SysvNative {}
