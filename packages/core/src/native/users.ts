// Native functions of the users area (packages/core/src/bind/users.rs).
export interface UsersNative {
  /** getpwuid_r: the login name of `uid`, undefined when no user has it. */
  usersUserName(uid: number): string | undefined;
  /** getgrgid_r: the name of group `gid`, undefined when no group has it. */
  usersGroupName(gid: number): string | undefined;
}
