//! Windows' closest match to mode 0600: a security descriptor whose
//! protected DACL (no inherited entries) grants full access to the user
//! running this process, by SID, and to nobody else. Administrators can
//! still take ownership, as root can read a 0600 file. And the check of an
//! existing destination ([`check`], `docs/reference.md` §6.4): owned by this user, and no access
//! entry lets anyone else write. Declared by hand against advapi32/kernel32
//! so it costs no crate.

use std::ffi::c_void;
use std::os::windows::io::{AsRawHandle, FromRawHandle};

/// Open the link or junction itself rather than its target, so that a
/// reparse point is seen (and refused) instead of followed.
pub const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
const SE_FILE_OBJECT: u32 = 1;
const OWNER_SECURITY_INFORMATION: u32 = 0x1;
const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// The allow entries, whose SID is weighed: plain and callback
/// (conditional) entries, with the SID at offset 8, and object entries
/// (plain and callback), with it after the object flags and GUIDs.
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const ACCESS_ALLOWED_CALLBACK_ACE_TYPE: u8 = 9;
const ACCESS_ALLOWED_OBJECT_ACE_TYPE: u8 = 5;
const ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE: u8 = 11;
/// The deny entries (plain, object, callback, callback object), which
/// can only take rights away and are not weighed.
const DENY_ACE_TYPES: [u8; 4] = [1, 6, 10, 12];
const INHERIT_ONLY_ACE: u8 = 0x8;
/// FILE_WRITE_DATA, FILE_APPEND_DATA, WRITE_DAC, WRITE_OWNER,
/// GENERIC_ALL and GENERIC_WRITE: any right that can change the text or
/// give itself that right.
const WRITE_RIGHTS: u32 = 0x2 | 0x4 | 0x0004_0000 | 0x0008_0000 | 0x1000_0000 | 0x4000_0000;
/// Who may write besides the owner, as root may on Unix: SYSTEM,
/// Administrators, and OWNER RIGHTS (which is the owner).
const TRUSTED: [&str; 3] = ["S-1-5-18", "S-1-5-32-544", "S-1-3-4"];

const SDDL_REVISION_1: u32 = 1;
const TOKEN_QUERY: u32 = 0x0008;
const TOKEN_USER_CLASS: u32 = 1;
/// What std asks for with `read(true).append(true)`: GENERIC_READ and
/// FILE_GENERIC_WRITE without FILE_WRITE_DATA (READ_CONTROL,
/// FILE_APPEND_DATA, FILE_WRITE_EA, FILE_WRITE_ATTRIBUTES, SYNCHRONIZE),
/// so every write lands at the end.
const READ_APPEND: u32 = 0x8000_0000 | 0x0012_0114;
const FILE_SHARE_READ_WRITE: u32 = 0x1 | 0x2;
const CREATE_NEW: u32 = 1;
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
const ERROR_FILE_EXISTS: i32 = 80;

/// `SECURITY_ATTRIBUTES`.
#[repr(C)]
struct SecurityAttributes {
    length: u32,
    descriptor: *mut c_void,
    inherit_handle: i32,
}

#[link(name = "advapi32")]
extern "system" {
    fn GetSecurityInfo(
        handle: *mut c_void,
        object_type: u32,
        info: u32,
        owner: *mut *mut c_void,
        group: *mut *mut c_void,
        dacl: *mut *mut c_void,
        sacl: *mut *mut c_void,
        descriptor: *mut *mut c_void,
    ) -> u32;
    fn GetAce(acl: *mut c_void, index: u32, ace: *mut *mut c_void) -> i32;
    fn OpenProcessToken(process: *mut c_void, access: u32, token: *mut *mut c_void) -> i32;
    fn GetTokenInformation(
        token: *mut c_void,
        class: u32,
        info: *mut c_void,
        len: u32,
        ret: *mut u32,
    ) -> i32;
    fn ConvertSidToStringSidW(sid: *mut c_void, out: *mut *mut u16) -> i32;
    fn ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl: *const u16,
        revision: u32,
        descriptor: *mut *mut c_void,
        size: *mut u32,
    ) -> i32;
}

#[link(name = "kernel32")]
extern "system" {
    fn GetCurrentProcess() -> *mut c_void;
    fn LocalFree(mem: *mut c_void) -> *mut c_void;
    fn CloseHandle(handle: *mut c_void) -> i32;
    fn CreateFileW(
        name: *const u16,
        access: u32,
        share: u32,
        attributes: *mut SecurityAttributes,
        disposition: u32,
        flags: u32,
        template: *mut c_void,
    ) -> *mut c_void;
}

fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// The current user's SID as text, `S-1-5-21-…`.
fn user_sid() -> std::io::Result<String> {
    let mut token = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` receives
    // a real handle that is closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error());
    }
    // TOKEN_USER is a pointer-aligned struct followed by the SID; 512
    // bytes hold any SID (at most 68 bytes) with room to spare.
    let mut buf = [0u64; 64];
    let mut len = 0u32;
    // SAFETY: `buf` is writable for the length passed and aligned for
    // TOKEN_USER; `token` is the handle just opened.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TOKEN_USER_CLASS,
            buf.as_mut_ptr().cast(),
            512,
            &mut len,
        )
    };
    let err = last_error();
    // SAFETY: closing the handle opened above, once.
    unsafe { CloseHandle(token) };
    if ok == 0 {
        return Err(err);
    }
    // TOKEN_USER starts with SID_AND_ATTRIBUTES, whose first field is
    // the SID pointer (into `buf`), which is alive across the call.
    sid_text(buf[0] as *mut c_void)
}

/// A SID as text. `sid` must point at a valid SID.
fn sid_text(sid: *mut c_void) -> std::io::Result<String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: the caller hands a valid SID; `text` receives a
    // LocalAlloc'd NUL-terminated string freed below.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(last_error());
    }
    // SAFETY: `text` is NUL-terminated; read up to the NUL, then free.
    let s = unsafe {
        let n = (0..).take_while(|&i| *text.add(i) != 0).count();
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, n));
        LocalFree(text.cast());
        s
    };
    Ok(s)
}

/// Creates the file with the owner-only descriptor and returns the handle
/// it was created with, open to read and append; an existing file is an
/// `AlreadyExists` error, as with `O_EXCL`. std's
/// `OpenOptionsExt::security_attributes` is not stable, so the create is
/// done here. The file is never opened again by name: between a close
/// and a reopen, anyone who may rename in the directory could put their
/// own file there.
pub fn create_new(path: &str) -> std::io::Result<std::fs::File> {
    // Protected DACL: allow FILE_ALL_ACCESS to this user only.
    let sddl: Vec<u16> = format!("D:P(A;;FA;;;{})", user_sid()?)
        .encode_utf16()
        .chain(Some(0))
        .collect();
    let mut sd = std::ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated UTF-16 alive across the call; `sd`
    // receives a LocalAlloc'd descriptor freed below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(last_error());
    }
    let mut attrs = SecurityAttributes {
        length: std::mem::size_of::<SecurityAttributes>() as u32,
        descriptor: sd,
        inherit_handle: 0,
    };
    let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated and `attrs` points at the live
    // descriptor; both outlive the call.
    let handle = unsafe {
        CreateFileW(
            wide.as_ptr(),
            READ_APPEND,
            FILE_SHARE_READ_WRITE,
            &mut attrs,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT,
            std::ptr::null_mut(),
        )
    };
    let err = last_error();
    // SAFETY: the descriptor came from the conversion above; freed once.
    unsafe { LocalFree(sd) };
    if handle as isize == -1 {
        return match err.raw_os_error() {
            Some(ERROR_FILE_EXISTS) => Err(std::io::ErrorKind::AlreadyExists.into()),
            _ => Err(err),
        };
    }
    // SAFETY: a valid handle from CreateFileW that nothing else owns; the
    // File closes it once.
    Ok(unsafe { std::fs::File::from_raw_handle(handle) })
}

/// The owner and write rules for an existing destination, on its open
/// handle: owned by this user (or by Administrators or SYSTEM, which
/// own what elevated runs create), and no allow entry of the DACL that
/// gives write access to anyone but this user, SYSTEM, Administrators
/// or the owner. A missing DACL grants everyone everything, and is
/// refused. Deny entries are not weighed; an entry of a type not known
/// here is refused.
pub fn check(file: &std::fs::File) -> Result<(), String> {
    let me = user_sid().map_err(|e| format!("cannot be checked: {e}"))?;
    let mut owner = std::ptr::null_mut();
    let mut dacl = std::ptr::null_mut();
    let mut sd = std::ptr::null_mut();
    // SAFETY: the handle is open for the call; `owner` and `dacl` point
    // into `sd`, a LocalAlloc'd descriptor freed below.
    let status = unsafe {
        GetSecurityInfo(
            file.as_raw_handle(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if status != 0 {
        let e = std::io::Error::from_raw_os_error(status as i32);
        return Err(format!("cannot be checked: {e}"));
    }
    let verdict = judge(&me, owner, dacl);
    // SAFETY: the descriptor came from GetSecurityInfo; freed once.
    unsafe { LocalFree(sd) };
    verdict
}

/// The verdict on an owner SID and a DACL that live in a descriptor the
/// caller keeps alive.
fn judge(me: &str, owner: *mut c_void, dacl: *mut c_void) -> Result<(), String> {
    let owner = sid_text(owner).map_err(|e| format!("cannot be checked: {e}"))?;
    if owner != me && !TRUSTED[..2].contains(&owner.as_str()) {
        return Err(format!(
            "belongs to {owner}, not to this user ({me}), and its owner could read the credentials; \
             remove it or choose a path this user owns"
        ));
    }
    if dacl.is_null() {
        return Err(
            "has no access list, so everyone may write it; remove it or choose another path".into(),
        );
    }
    // SAFETY: an ACL starts with revision (u8), padding (u8), size
    // (u16) and the entry count (u16), at offset 4.
    let count = unsafe { dacl.cast::<u8>().add(4).cast::<u16>().read_unaligned() };
    for i in 0..u32::from(count) {
        let mut ace = std::ptr::null_mut();
        // SAFETY: `i` is below the ACL's entry count.
        if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
            return Err(format!("cannot be checked: {}", last_error()));
        }
        let ace = ace.cast::<u8>();
        // SAFETY: an ACE starts with its type (u8) and flags (u8), then
        // its size (u16); every allow and deny entry follows with the mask
        // (u32) at offset 4.
        let (kind, flags, mask) =
            unsafe { (*ace, *ace.add(1), ace.add(4).cast::<u32>().read_unaligned()) };
        let sid_at = match kind {
            ACCESS_ALLOWED_ACE_TYPE | ACCESS_ALLOWED_CALLBACK_ACE_TYPE => 8,
            ACCESS_ALLOWED_OBJECT_ACE_TYPE | ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE => {
                // SAFETY: an object entry has its object flags (u32) at
                // offset 8, then a GUID (16 bytes) for each of the two
                // flags set, then the SID.
                let object = unsafe { ace.add(8).cast::<u32>().read_unaligned() };
                12 + 16 * (object & 1 != 0) as usize + 16 * (object & 2 != 0) as usize
            }
            k if DENY_ACE_TYPES.contains(&k) => continue,
            k => {
                return Err(format!(
                    "has an access entry of a type aws-oidc cannot weigh (type {k}); remove it or choose another path"
                ))
            }
        };
        if flags & INHERIT_ONLY_ACE != 0 || mask & WRITE_RIGHTS == 0 {
            continue;
        }
        // SAFETY: as above, the SID of an allow entry is at `sid_at`.
        let who = sid_text(unsafe { ace.add(sid_at) }.cast())
            .map_err(|e| format!("cannot be checked: {e}"))?;
        if who != me && !TRUSTED.contains(&who.as_str()) {
            return Err(format!(
                "can be written by {who} as well as this user; remove that entry (icacls FILE /remove {who}) or choose another path"
            ));
        }
    }
    Ok(())
}
