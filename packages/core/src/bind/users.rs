//! User and group names for JS (`usersUserName`, `usersGroupName`): the
//! name service lookups of [`crate::os::users`], so listings name owners the
//! way `ls -l` does, LDAP and SSSD users included.

use super::error::{ShmkitError, Subject};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::users;

fn name_or_undefined(env: Env, name: Option<String>) -> JsResult<Value> {
    match name {
        Some(name) => env.string(&name),
        None => env.undefined(),
    }
}

/// usersUserName(uid) -> the login name, or undefined when no user has it.
fn user_name(env: Env, call: &CallInfo) -> JsResult<Value> {
    let uid = call.arg(0, "uid")?.u32()?;
    let name = users::user_name(uid).map_err(|e| Error::sys(e, Subject::Detail(format!("uid {uid}"))))?;
    name_or_undefined(env, name)
}

/// usersGroupName(gid) -> the group name, or undefined when no group has it.
fn group_name(env: Env, call: &CallInfo) -> JsResult<Value> {
    let gid = call.arg(0, "gid")?.u32()?;
    let name = users::group_name(gid).map_err(|e| Error::sys(e, Subject::Detail(format!("gid {gid}"))))?;
    name_or_undefined(env, name)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("usersUserName", user_name)?.function("usersGroupName", group_name)?;
    Ok(())
}
